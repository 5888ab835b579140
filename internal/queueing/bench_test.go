package queueing

import (
	"testing"
	"time"
)

// The sizing benchmarks, with the same names and cases as they had in
// internal/placement before the move, so that the two can be compared.

func BenchmarkErlangC(b *testing.B) {
	for name, tc := range map[string]struct {
		c int
		a float64
	}{
		"c=10,a=8":        {10, 8},
		"c=1000,a=950":    {1000, 950},
		"c=1e6+1e3,a=1e6": {1e6 + 1e3, 1e6},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				ErlangC(tc.c, tc.a)
			}
		})
	}
}

func BenchmarkReplicas(b *testing.B) {
	for name, lambda := range map[string]float64{"40/s": 40, "1e4/s": 1e4, "1e8/s": 1e8} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Replicas(lambda, 1/0.12, 0.99, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
