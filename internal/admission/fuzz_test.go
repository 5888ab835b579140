package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzReview feeds arbitrary bodies through the whole request path (decode,
// fast path, GPU decode, evaluation, response). Whatever the body, the
// handler must answer with a well-formed AdmissionReview, a 200 or a 4xx,
// never a panic (a recovered panic is a 500 and fails the target).
func FuzzReview(f *testing.F) {
	seeds := [][]byte{
		nil, []byte("{}"), []byte("null"), []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"kind":"Pod","apiVersion":"v1","metadata":{},"spec":{"containers":[{"resources":{"limits":{"nvidia.com/gpu":"x"}}}]}}}}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"kind":"Job","apiVersion":"batch/v1","metadata":{},"spec":{"template":{"spec":{"containers":[{"resources":{"limits":{"nvidia.com/gpu":1e400}}}]}}}}}}`),
	}
	for _, file := range []string{"06-spot-training-job.yaml", "01-pytorchjob-llm-pretrain.yaml", "02-raycluster-finetune.yaml", "07-mig-notebook-job.yaml"} {
		seeds = append(seeds, review(f, "seed", example(f, file)))
	}
	seeds = append(seeds, review(f, "seed", plainPod()))
	for _, s := range seeds {
		f.Add(s)
	}
	h := newTestHandler(f, HandlerOptions{Log: &recorder{}, MaxBodyBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		var out reviewOut
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil || out.Kind != "AdmissionReview" {
			t.Fatalf("malformed response %q (%v) for %q", w.Body, err, body)
		}
		if out.Response.Allowed && out.Response.Status != nil {
			t.Fatalf("allowed with a status: %s", w.Body)
		}
		if out.Response.Patch != nil && !json.Valid(out.Response.Patch) {
			t.Fatalf("patch is not JSON: %s", w.Body)
		}
	})
}
