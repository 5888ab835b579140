//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// histogramTotals is the summed count and sum of the histogram series named
// name whose labels include every pair of match, from Prometheus text.
type histogramTotals struct {
	count uint64
	sum   float64
}

// mean is the mean of the observations between before and h, in seconds.
func (h histogramTotals) meanSince(before histogramTotals) float64 {
	if h.count <= before.count {
		return 0
	}
	return (h.sum - before.sum) / float64(h.count-before.count)
}

func parseHistogram(t *testing.T, text, name string, match map[string]string) histogramTotals {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing metrics: %v", err)
	}
	var h histogramTotals
	fam := families[name]
	if fam == nil {
		return h
	}
	for _, m := range fam.GetMetric() {
		if !labelsMatch(m.GetLabel(), match) || m.GetHistogram() == nil {
			continue
		}
		h.count += m.GetHistogram().GetSampleCount()
		h.sum += m.GetHistogram().GetSampleSum()
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
func apiserverMetrics(t *testing.T) string {
	t.Helper()
	return kubectl(t, "get", "--raw", "/metrics").must(t, "API server metrics")
}

// webhookMetrics is the host webhook's /metrics text.
func (h *hostWebhook) metrics(t *testing.T) string {
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
func registerReferenceWebhooks(t *testing.T, port int, cert servingCert) {
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
