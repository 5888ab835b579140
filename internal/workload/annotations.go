package workload

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// The annotations of contract 4.1.
const (
	AnnotationPrefix             = "quartermaster.io/"
	AnnotationTeam               = "quartermaster.io/team"
	AnnotationDatasets           = "quartermaster.io/datasets"
	AnnotationDatasetSize        = "quartermaster.io/dataset-size"
	AnnotationDataClassification = "quartermaster.io/data-classification"
	AnnotationResidency          = "quartermaster.io/residency"
	AnnotationInterruptible      = "quartermaster.io/interruptible"
	AnnotationExpectedDuration   = "quartermaster.io/expected-duration"
	AnnotationGPUModels          = "quartermaster.io/gpu-models"
	AnnotationRequestRate        = "quartermaster.io/request-rate"
	AnnotationServiceTime        = "quartermaster.io/service-time"
	AnnotationLatencySLO         = "quartermaster.io/latency-slo"
	// AnnotationReplicas "auto" lets admission set the replica count of an
	// inference workload from its sizing inputs.
	AnnotationReplicas = "quartermaster.io/replicas"
	// AnnotationClass overrides the class derived from the kind.
	AnnotationClass = "quartermaster.io/class"
	// AnnotationDecision is written by admission, never read as input.
	AnnotationDecision = "quartermaster.io/decision"
)

// Classifications are the accepted data classifications, least to most
// sensitive.
var Classifications = []string{"public", "internal", "confidential", "restricted"}

// AnnotationError is a malformed annotation value. Its message names the
// annotation, the value and what was expected, as contract 4.1 requires.
type AnnotationError struct {
	Annotation string
	Value      string
	Expected   string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("annotation %s: value %q is invalid: want %s", e.Annotation, e.Value, e.Expected)
}

var (
	dnsLabel         = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	jurisdictionCode = regexp.MustCompile(`^[a-z]{2}$`)
	gpuModelToken    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]*$`)
)

// maxListItems bounds comma-separated annotation lists; a longer one is a
// mistake or an attack, not a workload.
const maxListItems = 64

// annotationLookup returns an annotation from the object, then from its pod
// templates, in that order.
type annotationLookup func(key string) (string, bool)

// parseAnnotations fills w's annotation-derived fields.
func (x *Extractor) parseAnnotations(w *Workload, get annotationLookup, nsLabels map[string]string) error {
	if v, ok := get(AnnotationTeam); ok {
		if len(v) > 63 || !dnsLabel.MatchString(v) {
			return &AnnotationError{AnnotationTeam, v, "a team name: lower-case letters, digits and '-', at most 63 characters"}
		}
		w.Team = v
	} else if v := nsLabels[AnnotationTeam]; v != "" {
		w.Team = v
	}
	if v, ok := get(AnnotationDatasets); ok {
		ds, err := parseDatasets(v)
		if err != nil {
			return err
		}
		w.Datasets = ds
	}
	if v, ok := get(AnnotationDatasetSize); ok {
		q, err := resource.ParseQuantity(strings.TrimSpace(v))
		if err != nil || q.Sign() <= 0 {
			return &AnnotationError{AnnotationDatasetSize, v, "a positive Kubernetes quantity such as 500Gi or 12Ti"}
		}
		n, ok := q.AsInt64()
		if !ok {
			return &AnnotationError{AnnotationDatasetSize, v, "a size below 8Ei"}
		}
		w.DatasetSizeBytes = n
	}
	if v, ok := get(AnnotationDataClassification); ok {
		if !slices.Contains(Classifications, v) {
			return &AnnotationError{AnnotationDataClassification, v, "one of " + strings.Join(Classifications, ", ")}
		}
		w.DataClassification = v
	}
	if v, ok := get(AnnotationResidency); ok {
		js, err := x.parseResidency(v)
		if err != nil {
			return err
		}
		w.Residency = js
	}
	if v, ok := get(AnnotationInterruptible); ok {
		switch v {
		case "true":
			w.Interruptible = true
		case "false":
		default:
			return &AnnotationError{AnnotationInterruptible, v, `"true" or "false"`}
		}
	}
	if v, ok := get(AnnotationExpectedDuration); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return &AnnotationError{AnnotationExpectedDuration, v, "a positive Go duration such as 90m or 36h"}
		}
		w.ExpectedDuration = d
	}
	if v, ok := get(AnnotationGPUModels); ok {
		models, err := parseGPUModels(v)
		if err != nil {
			return err
		}
		w.GPUModels = models
	}
	if v, ok := get(AnnotationClass); ok {
		switch c := Class(v); c {
		case Training, Inference, Batch:
			w.Class = c
		default:
			return &AnnotationError{AnnotationClass, v, "training, inference or batch"}
		}
	}
	return parseInference(w, get)
}

func parseDatasets(v string) ([]string, error) {
	const want = "comma-separated dataset URLs with scheme s3://, gs://, az://, abfss:// or https:// (Azure Blob), each with a bucket or account"
	parts := strings.Split(v, ",")
	if len(parts) > maxListItems {
		return nil, &AnnotationError{AnnotationDatasets, v, fmt.Sprintf("at most %d datasets", maxListItems)}
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		if err != nil || u.Host == "" {
			return nil, &AnnotationError{AnnotationDatasets, v, want}
		}
		switch u.Scheme {
		case "s3", "gs", "az", "abfss":
		case "https":
			if !strings.HasSuffix(u.Host, ".blob.core.windows.net") && !strings.HasSuffix(u.Host, ".dfs.core.windows.net") {
				return nil, &AnnotationError{AnnotationDatasets, v, want}
			}
		default:
			return nil, &AnnotationError{AnnotationDatasets, v, want}
		}
		out = append(out, p)
	}
	return out, nil
}

func (x *Extractor) parseResidency(v string) ([]string, error) {
	var out []string
	parts := strings.Split(v, ",")
	if len(parts) > maxListItems {
		return nil, &AnnotationError{AnnotationResidency, v, fmt.Sprintf("at most %d jurisdictions", maxListItems)}
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if !jurisdictionCode.MatchString(p) {
			return nil, &AnnotationError{AnnotationResidency, v, "comma-separated lower-case jurisdiction codes such as eu or eu,uk"}
		}
		if x.jurisdictions != nil && !x.jurisdictions[p] {
			return nil, &AnnotationError{AnnotationResidency, v, "known jurisdictions: " + strings.Join(x.jurisdictionList, ", ")}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func parseGPUModels(v string) ([]string, error) {
	parts := strings.Split(v, ",")
	if len(parts) > maxListItems {
		return nil, &AnnotationError{AnnotationGPUModels, v, fmt.Sprintf("at most %d models", maxListItems)}
	}
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if !gpuModelToken.MatchString(p) {
			return nil, &AnnotationError{AnnotationGPUModels, v, "comma-separated GPU models such as H100,A100-80GB"}
		}
		if m := costing.CanonicalGPUModel(p); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func parseInference(w *Workload, get annotationLookup) error {
	var inf InferenceSLO
	set := false
	if v, ok := get(AnnotationRequestRate); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return &AnnotationError{AnnotationRequestRate, v, "a positive number of requests per second such as 40 or 2.5"}
		}
		inf.RequestRate, set = f, true
	}
	if v, ok := get(AnnotationServiceTime); ok {
		dur, model, err := ParseServiceTime(v)
		if err != nil {
			return &AnnotationError{AnnotationServiceTime, v, serviceTimeExpected}
		}
		inf.ServiceTime, inf.ServiceTimeModel, set = dur, model, true
	}
	if v, ok := get(AnnotationLatencySLO); ok {
		q, lat, err := ParseLatencySLO(v)
		if err != nil {
			return &AnnotationError{AnnotationLatencySLO, v, latencySLOExpected}
		}
		inf.SLOQuantile, inf.SLOLatency, set = q, lat, true
	}
	if v, ok := get(AnnotationReplicas); ok {
		if strings.TrimSpace(v) != "auto" || inf.RequestRate == 0 || inf.ServiceTime == 0 || inf.SLOLatency == 0 {
			return &AnnotationError{AnnotationReplicas, v, "auto, with " + AnnotationRequestRate + ", " + AnnotationServiceTime +
				" and " + AnnotationLatencySLO + " set (for a fixed count, set the workload's replicas and leave this out)"}
		}
		inf.AutoReplicas = true
	}
	if set {
		w.Inference = &inf
	}
	return nil
}

// ValueError is a value without the expected form, whatever it came from:
// the caller names the source, as AnnotationError does for an annotation and
// qm for a flag ("--slo " + the error).
type ValueError struct {
	Value    string
	Expected string
}

func (e *ValueError) Error() string { return fmt.Sprintf("%q: want %s", e.Value, e.Expected) }

const (
	serviceTimeExpected = "a positive duration, optionally @ the GPU model it was measured on, such as 120ms@A100-80GB"
	latencySLOExpected  = "pQ=DURATION with 0 < Q < 100, such as p99=500ms or p99.9=1s"
)

// ParseServiceTime reads a mean service time, optionally with the GPU model
// it was measured on: "120ms" or "120ms@A100-80GB". The model is returned
// canonical (costing.CanonicalGPUModel), "" when not given. The service-time
// annotation and qm size --service-time both read it here, so that the two
// accept exactly the same values. The error is a *ValueError.
func ParseServiceTime(v string) (time.Duration, string, error) {
	d, model, hasModel := strings.Cut(strings.TrimSpace(v), "@")
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 || (hasModel && !gpuModelToken.MatchString(model)) {
		return 0, "", &ValueError{v, serviceTimeExpected}
	}
	if !hasModel {
		return dur, "", nil
	}
	return dur, costing.CanonicalGPUModel(model), nil
}

// ParseLatencySLO reads a latency objective, "p99=500ms" or "p99.9=1s", into
// the quantile as a fraction in (0, 1) and its bound. The latency-slo
// annotation and qm size --slo both read it here. The error is a
// *ValueError.
func ParseLatencySLO(v string) (float64, time.Duration, error) {
	bad := &ValueError{v, latencySLOExpected}
	q, d, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok || !strings.HasPrefix(q, "p") {
		return 0, 0, bad
	}
	pct, err := strconv.ParseFloat(q[1:], 64)
	if err != nil || !(pct > 0 && pct < 100) {
		return 0, 0, bad
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return 0, 0, bad
	}
	return pct / 100, dur, nil
}
