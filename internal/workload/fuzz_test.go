package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedExamples adds the repository's example manifests to a fuzz corpus.
func seedExamples(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob("../../examples/workloads/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			add(b)
		}
	}
}

// FuzzExtract feeds arbitrary JSON objects to the extractor: it must return
// a workload or a typed error, never panic.
func FuzzExtract(f *testing.F) {
	seedExamples(f, func(b []byte) {
		if docs, err := DecodeManifests(bytes.NewReader(b)); err == nil {
			for _, d := range docs {
				js, _ := json.Marshal(d.Object)
				f.Add(js)
			}
		}
	})
	f.Add([]byte(`{"apiVersion":"ray.io/v1","kind":"RayCluster","metadata":{},"spec":{"workerGroupSpecs":[{"replicas":1e300}]}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[7]}}}}}`))
	x, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		obj, err := DecodeObject(raw)
		if err != nil {
			return
		}
		w, err := x.Extract(obj, nil)
		if err != nil {
			var ae *AnnotationError
			var oe *ObjectError
			if !errors.Is(err, ErrNotWorkload) && !errors.As(err, &ae) && !errors.As(err, &oe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, ps := range w.PodSets {
			if ps.Replicas < 0 || ps.GPU.Count < 0 || ps.CPUMilli < 0 || ps.MemoryBytes < 0 {
				t.Fatalf("negative demand: %+v", ps)
			}
		}
		if w.RequestsGPU() && !MayRequestGPU(raw) {
			t.Fatalf("MayRequestGPU said no to a GPU workload: %s", raw)
		}
	})
}

// FuzzAnnotations checks that any annotation value parses or fails with an
// *AnnotationError naming the annotation.
func FuzzAnnotations(f *testing.F) {
	for _, s := range []string{"vision", "s3://a/b,gs://c/d", "12Ti", "restricted", "eu,uk", "true", "36h",
		"H100,A100-80GB", "40", "120ms@A100-80GB", "p99=500ms", "p99.9=1s", "", ",", "@", "p=", "1e400"} {
		f.Add(s)
	}
	x, err := New(Options{Jurisdictions: []string{"eu", "uk", "us"}})
	if err != nil {
		f.Fatal(err)
	}
	keys := []string{AnnotationTeam, AnnotationDatasets, AnnotationDatasetSize, AnnotationDataClassification,
		AnnotationResidency, AnnotationInterruptible, AnnotationExpectedDuration, AnnotationGPUModels,
		AnnotationRequestRate, AnnotationServiceTime, AnnotationLatencySLO, AnnotationClass}
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range keys {
			_, err := x.Extract(podWithAnnotations(map[string]string{k: v}), nil)
			if err == nil {
				continue
			}
			var ae *AnnotationError
			if !errors.As(err, &ae) || ae.Annotation != k {
				t.Fatalf("%s=%q: err %v is not an AnnotationError for that key", k, v, err)
			}
		}
	})
}

// FuzzDecodeManifests checks the manifest reader never panics and that what
// it returns are objects with a kind.
func FuzzDecodeManifests(f *testing.F) {
	seedExamples(f, func(b []byte) { f.Add(b) })
	f.Add([]byte("---\n---\nkind: List\nitems: [{kind: Pod}]\n"))
	f.Add([]byte("{\"kind\": \"Pod\"}\n{\"kind\": \"Pod\"}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		docs, err := DecodeManifests(bytes.NewReader(raw))
		if err != nil {
			return
		}
		for _, d := range docs {
			if _, ok := d.Object["kind"].(string); !ok {
				t.Fatalf("document %d has no kind: %v", d.Index, d.Object)
			}
		}
	})
}

// FuzzReadRules: any bytes give rules that compile or a clear error, never a
// panic.
func FuzzReadRules(f *testing.F) {
	f.Add([]byte("rules: [{group: example.com, kind: Trainer, podSets: [{each: spec.workers.*, template: template}]}]\n"))
	f.Add([]byte("rules: []\n"))
	f.Add([]byte(`{"rules":[{"kind":"K","podSets":[{"template":"a..b"}]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rules, err := ReadRules(bytes.NewReader(raw))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "workload rules") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if _, err := New(Options{Rules: WithDefaultRules(rules)}); err != nil {
			t.Fatalf("rules accepted by ReadRules do not compile: %v", err)
		}
	})
}
