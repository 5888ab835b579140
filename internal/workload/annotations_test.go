package workload

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func podWithAnnotations(ann map[string]string) map[string]any {
	a := map[string]any{}
	for k, v := range ann {
		a[k] = v
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "annotations": a},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "i",
			"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": float64(1)}}}}},
	}
}

func TestAnnotationsValid(t *testing.T) {
	tests := map[string]struct {
		ann   map[string]string
		check func(*Workload) bool
	}{
		"team": {map[string]string{AnnotationTeam: "vision"}, func(w *Workload) bool { return w.Team == "vision" }},
		"datasets": {map[string]string{AnnotationDatasets: "s3://corpus-eu/v3/, gs://ckpt-bucket/run7/,https://acct.blob.core.windows.net/c/p"}, func(w *Workload) bool {
			return reflect.DeepEqual(w.Datasets, []string{"s3://corpus-eu/v3/", "gs://ckpt-bucket/run7/", "https://acct.blob.core.windows.net/c/p"})
		}},
		"dataset size":         {map[string]string{AnnotationDatasetSize: "12Ti"}, func(w *Workload) bool { return w.DatasetSizeBytes == 12<<40 }},
		"classification":       {map[string]string{AnnotationDataClassification: "restricted"}, func(w *Workload) bool { return w.DataClassification == "restricted" }},
		"residency list":       {map[string]string{AnnotationResidency: "eu, uk,eu"}, func(w *Workload) bool { return reflect.DeepEqual(w.Residency, []string{"eu", "uk"}) }},
		"interruptible":        {map[string]string{AnnotationInterruptible: "true"}, func(w *Workload) bool { return w.Interruptible }},
		"not interruptible":    {map[string]string{AnnotationInterruptible: "false"}, func(w *Workload) bool { return !w.Interruptible }},
		"duration":             {map[string]string{AnnotationExpectedDuration: "36h"}, func(w *Workload) bool { return w.ExpectedDuration == 36*time.Hour }},
		"gpu models canonical": {map[string]string{AnnotationGPUModels: "H100,a100-80gb,NVIDIA A10G,H100"}, func(w *Workload) bool { return reflect.DeepEqual(w.GPUModels, []string{"H100", "A100-80GB", "A10G"}) }},
		"class override":       {map[string]string{AnnotationClass: "inference"}, func(w *Workload) bool { return w.Class == Inference }},
		"inference slo": {map[string]string{AnnotationRequestRate: "40", AnnotationServiceTime: "120ms@A100-80GB", AnnotationLatencySLO: "p99.9=500ms"}, func(w *Workload) bool {
			i := w.Inference
			return i != nil && i.RequestRate == 40 && i.ServiceTime == 120*time.Millisecond && i.ServiceTimeModel == "A100-80GB" &&
				i.SLOQuantile > 0.9989 && i.SLOQuantile < 0.9991 && i.SLOLatency == 500*time.Millisecond
		}},
		"replicas auto": {map[string]string{AnnotationRequestRate: "40", AnnotationServiceTime: "50ms", AnnotationLatencySLO: "p99=1s", AnnotationReplicas: " auto"}, func(w *Workload) bool {
			return w.Inference.AutoReplicas
		}},
		"service time without model": {map[string]string{AnnotationServiceTime: "2s"}, func(w *Workload) bool {
			return w.Inference.ServiceTime == 2*time.Second && w.Inference.ServiceTimeModel == ""
		}},
	}
	x := mustExtractor(t, Options{Jurisdictions: []string{"eu", "uk", "us"}})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := x.Extract(podWithAnnotations(tc.ann), nil)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if !tc.check(w) {
				t.Errorf("unexpected workload: %+v", w)
			}
		})
	}
}

func TestAnnotationsInvalid(t *testing.T) {
	tests := map[string]struct {
		key, value, expected string
	}{
		"team upper case":        {AnnotationTeam, "Vision", "a team name"},
		"team too long":          {AnnotationTeam, strings.Repeat("a", 64), "at most 63"},
		"dataset scheme":         {AnnotationDatasets, "ftp://x/y", "dataset URLs"},
		"dataset no bucket":      {AnnotationDatasets, "s3:///path", "dataset URLs"},
		"dataset other https":    {AnnotationDatasets, "https://example.com/x", "Azure Blob"},
		"dataset empty item":     {AnnotationDatasets, "s3://a/,", "dataset URLs"},
		"size not a quantity":    {AnnotationDatasetSize, "12TB", "Kubernetes quantity"},
		"size zero":              {AnnotationDatasetSize, "0", "positive"},
		"classification":         {AnnotationDataClassification, "secret", "public, internal, confidential, restricted"},
		"residency format":       {AnnotationResidency, "EU", "lower-case jurisdiction codes"},
		"residency unknown":      {AnnotationResidency, "eu,zz", "known jurisdictions: eu, uk, us"},
		"interruptible yes":      {AnnotationInterruptible, "yes", `"true" or "false"`},
		"duration days":          {AnnotationExpectedDuration, "2d", "Go duration"},
		"duration negative":      {AnnotationExpectedDuration, "-1h", "positive"},
		"gpu models empty token": {AnnotationGPUModels, "H100,,A100", "GPU models"},
		"class":                  {AnnotationClass, "gaming", "training, inference or batch"},
		"rate zero":              {AnnotationRequestRate, "0", "positive number"},
		"rate text":              {AnnotationRequestRate, "fast", "positive number"},
		"service time":           {AnnotationServiceTime, "fast@L4", "positive duration"},
		"service time model":     {AnnotationServiceTime, "10ms@", "positive duration"},
		"slo no p":               {AnnotationLatencySLO, "99=1s", "pQ=DURATION"},
		"slo quantile 100":       {AnnotationLatencySLO, "p100=1s", "pQ=DURATION"},
		"slo duration":           {AnnotationLatencySLO, "p99=soon", "pQ=DURATION"},
		"replicas a number":      {AnnotationReplicas, "3", "auto, with quartermaster.io/request-rate"},
		"replicas without slo":   {AnnotationReplicas, "auto", "auto, with quartermaster.io/request-rate"},
	}
	x := mustExtractor(t, Options{Jurisdictions: []string{"eu", "uk", "us"}})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := x.Extract(podWithAnnotations(map[string]string{tc.key: tc.value}), nil)
			var ae *AnnotationError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *AnnotationError", err, err)
			}
			msg := err.Error()
			if ae.Annotation != tc.key || ae.Value != tc.value || !strings.Contains(msg, tc.key) ||
				!strings.Contains(msg, tc.value) || !strings.Contains(msg, tc.expected) {
				t.Errorf("message %q must name %s, the value %q and %q", msg, tc.key, tc.value, tc.expected)
			}
		})
	}
}

func TestDecodeManifests(t *testing.T) {
	in := `# leading comment
apiVersion: v1
kind: Pod
metadata: {name: a}
---
# a comment-only document
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: b}}
  - {apiVersion: v1, kind: Pod, metadata: {name: c}}
---
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "d"}}
`
	docs, err := DecodeManifests(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Object["metadata"].(map[string]any)["name"].(string))
	}
	if !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("names = %v", got)
	}
	if docs[1].Index != 3 || docs[1].Item != 1 || docs[3].Index != 4 {
		t.Errorf("positions = %+v", docs)
	}

	for name, bad := range map[string]string{
		"not yaml":     "kind: [unclosed",
		"scalar":       "just a string",
		"no kind":      "metadata: {name: x}",
		"list of junk": "kind: List\nitems: [1, 2]",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeManifests(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "document 1") {
				t.Errorf("err = %v, want an error naming document 1", err)
			}
		})
	}
}

// TestDecodeManifestsDuplicateKeys is issue 17 item 3: a key set twice is
// refused, naming the key and the document, in YAML and in JSON, at any depth.
func TestDecodeManifestsDuplicateKeys(t *testing.T) {
	for name, tc := range map[string]struct {
		in, want string
	}{
		"annotation twice (yaml)": {
			in: `apiVersion: v1
kind: Pod
metadata: {name: ok}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: train
  annotations:
    quartermaster.io/interruptible: "false"
    quartermaster.io/interruptible: "true"
`,
			want: `document 2: key "quartermaster.io/interruptible" is set twice (line 7 of the document)`,
		},
		"annotation twice (json)": {
			in:   `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"quartermaster.io/interruptible":"false","quartermaster.io/interruptible":"true"}}}`,
			want: `document 1: key "quartermaster.io/interruptible" is set twice`,
		},
		"top-level kind twice": {
			in:   "apiVersion: v1\nkind: Pod\nkind: Job\n",
			want: `document 1: key "kind" is set twice (line 3 of the document)`,
		},
		"inside a list item": {
			in:   "kind: List\nitems:\n- {kind: Pod, metadata: {name: a, name: b}}\n",
			want: `document 1: key "name" is set twice`,
		},
		"resource limit twice": {
			in:   "kind: Pod\nspec:\n  containers:\n  - name: c\n    resources:\n      limits:\n        nvidia.com/gpu: 1\n        nvidia.com/gpu: 8\n",
			want: `key "nvidia.com/gpu" is set twice`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeManifests(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			var dk *DuplicateKeyError
			if !errors.As(err, &dk) {
				t.Errorf("err %T is not a *DuplicateKeyError", err)
			}
		})
	}
}
