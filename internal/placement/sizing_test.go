package placement

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// TestSizingMessages: the reasons say what is actually wrong (issue 17
// items 13 and 14).
func TestSizingMessages(t *testing.T) {
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	p := New(cat, nil)
	base := SizingRequest{Rate: 40, ServiceTime: 120 * time.Millisecond, Quantile: 0.99, Latency: 500 * time.Millisecond, GPUsPerReplica: 1}
	tests := map[string]struct {
		change   func(r *SizingRequest)
		wantErr  string
		wantMiss map[string]string // model → part of its reason
		notWant  string
	}{
		"the exponential tail, not the mean, misses the SLO": {
			change:   func(*SizingRequest) {},
			wantMiss: map[string]string{"A100-80GB": "exponential with mean 120ms, so P(service > 500ms) = 1.55%, above the 1% the SLO allows"},
			notWant:  "exceeds the p99 SLO",
		},
		"9 GPUs per replica: no node has 9": {
			change:  func(r *SizingRequest) { r.GPUsPerReplica = 9 },
			wantErr: "9 GPUs per replica: no node in the catalog has 9 GPUs (the largest has 8)",
		},
		"negative GPUs per replica": {
			change:  func(r *SizingRequest) { r.GPUsPerReplica = -2 },
			wantErr: "-2 GPUs per replica: want at least 1",
		},
		"infinite rate": {
			change:  func(r *SizingRequest) { r.Rate = math.Inf(1) },
			wantErr: "want a finite positive rate",
		},
		"rate too large for every model": {
			change:  func(r *SizingRequest) { r.Rate, r.ServiceTime, r.Latency = 1e300, time.Millisecond, time.Second },
			wantErr: "rate too large",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := base
			tc.change(&req)
			res, err := p.Size(&req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for model, want := range tc.wantMiss {
				found := false
				for _, m := range res.Misses {
					if m.GPUModel == model {
						found = true
						if !strings.Contains(m.Reason, want) {
							t.Errorf("%s: reason %q, want it to contain %q", model, m.Reason, want)
						}
						if tc.notWant != "" && strings.Contains(m.Reason, tc.notWant) {
							t.Errorf("%s: reason %q must not contain %q", model, m.Reason, tc.notWant)
						}
					}
				}
				if !found {
					t.Errorf("no miss for %s in %+v", model, res.Misses)
				}
			}
		})
	}
}
