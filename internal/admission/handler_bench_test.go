package admission

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandler measures the handler alone (no TLS, no network): the
// fast path that 70% or more of traffic takes, and a full GPU decision.
func BenchmarkHandler(b *testing.B) {
	cases := map[string][]byte{
		"non-gpu-pod": review(b, "705ab4f5-6393-11e8-b7cc-42010a800002", plainPod()),
		"gpu-job":     review(b, "705ab4f5-6393-11e8-b7cc-42010a800003", example(b, "06-spot-training-job.yaml")),
		"pytorchjob":  review(b, "705ab4f5-6393-11e8-b7cc-42010a800004", example(b, "01-pytorchjob-llm-pretrain.yaml")),
	}
	h := newTestHandler(b, HandlerOptions{Log: &recorder{}})
	for name, body := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			r := httptest.NewRequest(http.MethodPost, "/mutate", nil)
			r.Header.Set("Content-Type", "application/json")
			for b.Loop() {
				r.Body = nopCloser{bytes.NewReader(body)}
				r.ContentLength = int64(len(body))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Body.String())
				}
			}
		})
	}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
