package placement

import (
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// The sizing benchmarks, with the same names and cases wherever the code
// lives, so that a move can be compared before and after.

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

func BenchmarkSize(b *testing.B) {
	cat, err := costing.DefaultCatalog()
	if err != nil {
		b.Fatal(err)
	}
	p := New(cat, nil)
	for name, req := range map[string]SizingRequest{
		"40/s p99 1s":    {Rate: 40, ServiceTime: 120 * time.Millisecond, Quantile: 0.99, Latency: time.Second},
		"1e4/s p99.9 1s": {Rate: 1e4, ServiceTime: 120 * time.Millisecond, ServiceModel: "H100", Quantile: 0.999, Latency: time.Second, Interruptible: true},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := p.Size(&req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
