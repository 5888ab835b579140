package placement

import (
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// BenchmarkSize keeps its name and cases across the move of the queueing
// arithmetic to internal/queueing (whose BenchmarkErlangC and
// BenchmarkReplicas were here), so that the two can be compared.

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
			cpu := cpuTime()
			for b.Loop() {
				if _, err := p.Size(&req); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time as well as wall time: the machine is shared.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
