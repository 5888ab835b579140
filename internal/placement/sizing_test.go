package placement

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
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

// TestMM1ResponseTime: for one server T is exponential with rate μ − λ.
func TestMM1ResponseTime(t *testing.T) {
	q := MMc{Lambda: 3, Mu: 5, C: 1}
	for _, tt := range []float64{0.01, 0.1, 0.5, 2} {
		if got, want := q.Exceed(tt), math.Exp(-2*tt); math.Abs(got-want) > 1e-12 {
			t.Fatalf("P(T > %v) = %v, want %v", tt, got, want)
		}
	}
	if got, want := q.Quantile(0.99), math.Log(100)/2; math.Abs(got-want) > 1e-9 {
		t.Fatalf("p99 = %v, want %v", got, want)
	}
}

// simulate runs an FCFS M/M/c queue and returns the response times.
func simulate(q MMc, n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	free := make([]float64, q.C) // when each server is next free
	now := 0.0
	out := make([]float64, 0, n)
	for i := range n + n/10 {
		now += rng.ExpFloat64() / q.Lambda
		s := slices.Index(free, slices.Min(free))
		start := math.Max(now, free[s])
		free[s] = start + rng.ExpFloat64()/q.Mu
		if i >= n/10 { // drop the warm-up
			out = append(out, free[s]-now)
		}
	}
	return out
}

// TestResponseTimeMatchesSimulation compares the exact tail with a
// discrete-event simulation, including the θ = μ special case.
func TestResponseTimeMatchesSimulation(t *testing.T) {
	for name, q := range map[string]MMc{
		"5 servers at 96%":   {Lambda: 40, Mu: 1 / 0.12, C: 5},
		"θ equals μ":         {Lambda: 10, Mu: 5, C: 3},
		"20 servers at 90%":  {Lambda: 90, Mu: 5, C: 20},
		"single busy server": {Lambda: 0.7, Mu: 1, C: 1},
	} {
		t.Run(name, func(t *testing.T) {
			times := simulate(q, 200000, 7)
			slices.Sort(times)
			for _, p := range []float64{0.5, 0.9, 0.99} {
				tq := q.Quantile(p)
				emp := float64(len(times)-sortSearch(times, tq)) / float64(len(times))
				if math.Abs(emp-(1-p)) > 0.01+0.1*(1-p) {
					t.Fatalf("p%g: exact %v, simulated P(T > %v) = %v, want ≈ %v", 100*p, tq, tq, emp, 1-p)
				}
			}
		})
	}
}

func sortSearch(sorted []float64, v float64) int {
	i, _ := slices.BinarySearch(sorted, v)
	return i
}

func TestReplicas(t *testing.T) {
	// 40 req/s at 120 ms: a = 4.8, so at least 5 replicas for stability.
	c, err := Replicas(40, 1/0.12, 0.99, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := (MMc{40, 1 / 0.12, c}).Exceed(1); got > 0.01 {
		t.Fatalf("%d replicas: P(T > 1s) = %v, misses the SLO", c, got)
	}
	if got := (MMc{40, 1 / 0.12, c - 1}); got.Stable() && got.Exceed(1) <= 0.01 {
		t.Fatalf("%d replicas already meet the SLO: %d is not the smallest", c-1, c)
	}
	// A p99 of 500 ms cannot be met when service alone takes 200 ms on
	// average: P(S > 0.5) = e^{-2.5} ≈ 8%.
	if _, err := Replicas(40, 5, 0.99, 500*time.Millisecond); !errors.Is(err, ErrUnstable) {
		t.Fatalf("want ErrUnstable, got %v", err)
	}
	if err := (MMc{40, 1 / 0.12, 4}).Validate(); !errors.Is(err, ErrUnstable) {
		t.Fatalf("λ=40 ≥ cμ=33.3: want ErrUnstable, got %v", err)
	}
}
