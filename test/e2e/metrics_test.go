//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// histogram is the summed cumulative buckets, count and sum of the series of
// one Prometheus histogram that match some labels.
type histogram struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64 // upper bound → cumulative count
}

// since is what was observed between before and h.
func (h histogram) since(before histogram) histogram {
	d := histogram{count: h.count - before.count, sum: h.sum - before.sum, buckets: map[float64]uint64{}}
	for le, n := range h.buckets {
		d.buckets[le] = n - before.buckets[le]
	}
	return d
}

// mean is the mean observation in seconds (0 with none).
func (h histogram) mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count)
}

// quantile estimates the q-quantile in seconds by linear interpolation
// within the bucket that holds it, as PromQL's histogram_quantile does.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	bounds := slices.Sorted(maps.Keys(h.buckets))
	rank := q * float64(h.count)
	lower, below := 0.0, uint64(0)
	for _, le := range bounds {
		if n := h.buckets[le]; float64(n) >= rank && !math.IsInf(le, 1) {
			if n == below {
				return le
			}
			return lower + (le-lower)*(rank-float64(below))/float64(n-below)
		}
		lower, below = le, h.buckets[le]
	}
	return lower // in the +Inf bucket: the largest finite bound
}

// metricFamilies parses Prometheus text exposition.
func metricFamilies(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing metrics: %v", err)
	}
	return families
}

func parseHistogram(t testing.TB, text, name string, match map[string]string) histogram {
	t.Helper()
	h := histogram{buckets: map[float64]uint64{}}
	fam := metricFamilies(t, text)[name]
	if fam == nil {
		return h
	}
	for _, m := range fam.GetMetric() {
		if !labelsMatch(m.GetLabel(), match) || m.GetHistogram() == nil {
			continue
		}
		h.count += m.GetHistogram().GetSampleCount()
		h.sum += m.GetHistogram().GetSampleSum()
		for _, b := range m.GetHistogram().GetBucket() {
			h.buckets[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	return h
}

func labelsMatch(labels []*dto.LabelPair, match map[string]string) bool {
	found := 0
	for _, l := range labels {
		if v, ok := match[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(match)
}

// apiserverMetrics is the API server's /metrics text.
func apiserverMetrics(t testing.TB) string {
	t.Helper()
	return kubectl(t, "get", "--raw", "/metrics").must(t, "API server metrics")
}

// webhookMetrics is the host webhook's /metrics text.
func (h *hostWebhook) metrics(t testing.TB) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, h.metricsURL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("webhook metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("webhook metrics: %v", err)
	}
	return string(b)
}

// The no-op reference webhooks of the overhead benchmark: they see only
// objects labelled referenceLabel.
const referenceLabel = "e2e.quartermaster.io/reference-webhook"

// referenceName is the name of the reference webhook of an API server
// webhook type (admit, validating), as its metrics label it.
func referenceName(apiType string) string {
	if apiType == "admit" {
		return "mutate.reference.e2e.quartermaster.io"
	}
	return "validate.reference.e2e.quartermaster.io"
}

// registerReferenceWebhooks registers a mutating and a validating webhook
// for pod creates at the host port, like the chart registers Quartermaster's
// (failurePolicy Fail, same timeout), but only for labelled objects.
func registerReferenceWebhooks(t testing.TB, port int, cert servingCert) {
	t.Helper()
	var b strings.Builder
	for _, w := range []struct{ kind, apiType, path string }{
		{"MutatingWebhookConfiguration", "admit", "/mutate"},
		{"ValidatingWebhookConfiguration", "validating", "/validate"},
	} {
		reinvocation := ""
		if w.kind == "MutatingWebhookConfiguration" {
			reinvocation = "\n    reinvocationPolicy: Never"
		}
		fmt.Fprintf(&b, `apiVersion: admissionregistration.k8s.io/v1
kind: %s
metadata:
  name: e2e-reference
webhooks:
  - name: %s
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10%s
    clientConfig:
      url: https://127.0.0.1:%d%s
      caBundle: %s
    objectSelector:
      matchLabels: {%q: "true"}
    rules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [pods]
---
`, w.kind, referenceName(w.apiType), reinvocation, port, w.path, cert.caBundle(), referenceLabel)
	}
	kubectlIn(t, []byte(b.String()), "apply", "-f", "-").must(t, "registering the reference webhooks")
	t.Cleanup(func() {
		kubectl(t, "delete", "mutatingwebhookconfiguration,validatingwebhookconfiguration", "e2e-reference", "--ignore-not-found")
	})
}
