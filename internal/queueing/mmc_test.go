package queueing

import (
	"errors"
	"math"
	"testing"
)

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

// TestThetaEqualsMu: at θ = μ the general form divides 0 by 0; the limit
// form must agree with the general one just beside it.
func TestThetaEqualsMu(t *testing.T) {
	at := MMc{Lambda: 10, Mu: 5, C: 3} // θ = 15 − 10 = 5 = μ
	near := MMc{Lambda: 10 - 1e-6, Mu: 5, C: 3}
	for _, tt := range []float64{0.05, 0.2, 1} {
		if a, b := at.Exceed(tt), near.Exceed(tt); math.Abs(a-b) > 1e-6 {
			t.Fatalf("P(T > %v): %v at θ = μ, %v beside it", tt, a, b)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		q        MMc
		unstable bool
		bad      bool
	}{
		"stable":          {q: MMc{40, 1 / 0.12, 5}},
		"λ ≥ cμ":          {q: MMc{40, 1 / 0.12, 4}, unstable: true},
		"no server":       {q: MMc{1, 1, 0}, bad: true},
		"infinite rate":   {q: MMc{math.Inf(1), 1, 1}, bad: true},
		"NaN service":     {q: MMc{1, math.NaN(), 1}, bad: true},
		"exactly at load": {q: MMc{3, 1, 3}, unstable: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.q.Validate()
			if got := errors.Is(err, ErrUnstable); got != tc.unstable {
				t.Fatalf("Validate() = %v: unstable %v, want %v", err, got, tc.unstable)
			}
			if (err != nil) != (tc.unstable || tc.bad) {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}
