package placement

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// erlangCDirect is the textbook closed form, summed in logs so that it
// serves as an independent check up to a few hundred servers:
//
//	C = (aᶜ/c!)·c/(c−a) / (Σ_{k<c} aᵏ/k! + (aᶜ/c!)·c/(c−a))
func erlangCDirect(c int, a float64) float64 {
	logTerm := func(k int) float64 { lg, _ := math.Lgamma(float64(k + 1)); return float64(k)*math.Log(a) - lg }
	top := logTerm(c) + math.Log(float64(c)/(float64(c)-a))
	m := top
	for k := range c {
		m = math.Max(m, logTerm(k))
	}
	sum := math.Exp(top - m)
	for k := range c {
		sum += math.Exp(logTerm(k) - m)
	}
	return math.Exp(top-m) / sum
}

// erlangBFull is the Erlang B recursion from k = 0, without the warm start.
func erlangBFull(c int, a float64) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// TestErlangCAgainstDirectFormula checks the (warm-started) Erlang C
// against the closed form at small c, including loads above 100 where the
// warm start is used (issue 17 item 12).
func TestErlangCAgainstDirectFormula(t *testing.T) {
	tests := map[string]struct {
		c int
		a float64
	}{
		"1 server":                   {1, 0.5},
		"5 servers at 96%":           {5, 4.8},
		"10 servers, 8 Erlangs":      {10, 8},
		"warm start: 120 at 110":     {120, 110},
		"warm start: 150 at 101":     {150, 101},
		"warm start: 300 at 280.5":   {300, 280.5},
		"warm start: nearly full":    {201, 200.9},
		"warm start: far above":      {400, 150},
		"fractional load, 3 servers": {3, 2.999},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, want := ErlangC(tc.c, tc.a), erlangCDirect(tc.c, tc.a)
			if math.Abs(got-want) > 1e-10*math.Max(want, 1e-300) && math.Abs(got-want) > 1e-300 {
				t.Fatalf("ErlangC(%d, %v) = %.15g, direct formula %.15g", tc.c, tc.a, got, want)
			}
		})
	}
}

// TestErlangBWarmStartMatchesFullRecursion compares the warm start with
// the full recursion at loads where the full one is still affordable.
func TestErlangBWarmStartMatchesFullRecursion(t *testing.T) {
	tests := map[string]struct {
		a       float64
		offsets []float64 // c = a + offset·√a
	}{
		"a = 1e3": {1e3, []float64{0.01, 0.5, 1, 2, 4, 8}},
		"a = 1e5": {1e5, []float64{0.001, 0.5, 1, 3, 6}},
		"a = 5e6": {5e6, []float64{0.0001, 1, 2, 5}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, off := range tc.offsets {
				c := int(tc.a+off*math.Sqrt(tc.a)) + 1
				got, want := erlangB(c, tc.a), erlangBFull(c, tc.a)
				if math.Abs(got-want) > 1e-11*want {
					t.Fatalf("B(%d, %v): warm start %.15g, full recursion %.15g", c, tc.a, got, want)
				}
			}
		})
	}
}

// TestReplicasAnyRate: the search starts at the offered load, so any rate
// answers quickly, with the smallest count that meets the SLO; "rate too
// large" only beyond MaxReplicas (issue 17 item 12).
func TestReplicasAnyRate(t *testing.T) {
	mu := 1 / 0.12
	tests := map[string]struct {
		lambda  float64
		wantErr error
	}{
		"40/s":                    {40, nil},
		"1e4/s":                   {1e4, nil},
		"1e6/s":                   {1e6, nil},
		"1e8/s":                   {1e8, nil},
		"1e10/s (1.2e9 replicas)": {1e10, nil},
		"3e10/s: above int32":     {3e10, ErrRateTooLarge},
		"1e300/s":                 {1e300, ErrRateTooLarge},
		"just below the limit":    {(MaxReplicas - 1e6) * mu, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			c, err := Replicas(tc.lambda, mu, 0.99, time.Second)
			if elapsed := time.Since(start); elapsed > 2*time.Second { // generous: -race and a shared machine
				t.Errorf("took %v", elapsed)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "rate too large") {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := tc.lambda / mu
			if float64(c) <= a {
				t.Fatalf("%d replicas for an offered load of %v: unstable", c, a)
			}
			if got := (MMc{tc.lambda, mu, c}).Exceed(1); got > 0.01 {
				t.Fatalf("%d replicas: P(T > 1s) = %v, misses the SLO", c, got)
			}
			if prev := (MMc{tc.lambda, mu, c - 1}); prev.Stable() && prev.Exceed(1) <= 0.01 {
				t.Fatalf("%d replicas already meet the SLO: %d is not the smallest", c-1, c)
			}
		})
	}
}

// TestReplicasMatchesLinearSearch: the scan agrees with the former search
// (every c from the offered load, Erlang C recomputed from scratch by the
// closed form) on small cases.
func TestReplicasMatchesLinearSearch(t *testing.T) {
	tests := map[string]struct {
		lambda, mu float64
		q          float64
		slo        time.Duration
	}{
		"example: 40/s at 120ms, p99 1s":   {40, 1 / 0.12, 0.99, time.Second},
		"tight SLO near the service limit": {40, 1 / 0.12, 0.99, 560 * time.Millisecond},
		"p50 loose":                        {3, 1, 0.5, 2 * time.Second},
		"heavy: 150/s at 1s, p99.9 10s":    {150, 1, 0.999, 10 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Replicas(tc.lambda, tc.mu, tc.q, tc.slo)
			if err != nil {
				t.Fatal(err)
			}
			a := tc.lambda / tc.mu
			want := 0
			for c := int(a) + 1; c < 1000; c++ {
				r := newTail(tc.mu, a, c, erlangCDirect(c, a))
				if r.exceed(tc.slo.Seconds()) <= 1-tc.q {
					want = c
					break
				}
			}
			if got != want {
				t.Fatalf("Replicas = %d, linear search with the direct formula = %d", got, want)
			}
		})
	}
}

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
