package queueing

import (
	"math"
	"testing"
)

// TestErlangCTextbook checks ErlangC against closed forms and a published
// table value.
func TestErlangCTextbook(t *testing.T) {
	tests := map[string]struct {
		c    int
		a    float64
		want float64
		tol  float64
	}{
		"M/M/1 waits with probability ρ":      {1, 0.8, 0.8, 1e-12},
		"M/M/2 at ρ=0.5 is 2ρ²/(1+ρ) = 1/3":   {2, 1, 1.0 / 3, 1e-12},
		"10 servers, 8 Erlangs (table 0.409)": {10, 8, 0.4092, 5e-4},
		"overloaded always waits":             {3, 3, 1, 0},
		"lightly loaded rarely waits":         {50, 10, 0, 1e-12},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ErlangC(tc.c, tc.a); math.Abs(got-tc.want) > tc.tol {
				t.Fatalf("ErlangC(%d, %v) = %v, want %v ± %v", tc.c, tc.a, got, tc.want, tc.tol)
			}
		})
	}
}

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
