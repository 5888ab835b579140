package queueing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

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
				if r.Exceed(tc.slo.Seconds()) <= 1-tc.q {
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

// TestScanMatchesMMc: the incremental scan gives, count by count, the same
// distribution as a queue built from scratch.
func TestScanMatchesMMc(t *testing.T) {
	s, err := NewScan(40, 1/0.12)
	if err != nil {
		t.Fatal(err)
	}
	if s.Servers() != 5 {
		t.Fatalf("starts at %d servers, want 5 (⌊4.8⌋ + 1)", s.Servers())
	}
	for range 20 {
		got, want := s.Tail(), (MMc{40, 1 / 0.12, s.Servers()}).Tail()
		if d := got.Wait() - want.Wait(); d > 1e-12 || d < -1e-12 {
			t.Fatalf("%d servers: scan P(wait) %v, MMc %v", s.Servers(), got.Wait(), want.Wait())
		}
		if !s.Next() {
			t.Fatal("Next stopped early")
		}
	}
}
