package policy

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// BenchmarkEvaluate is the full library on a typical GPU workload: phase one
// (all packages) and phase two (budget with the placement). It reports
// compilations/op, which must stay 0, and a p99 from per-iteration timings.
func BenchmarkEvaluate(b *testing.B) {
	bundle := loadLibrary(b)
	ctx := context.Background()
	in := typicalInput()
	placed := *in
	placed.Placement = &Placement{Cloud: "aws", Region: "us-east-1", Jurisdiction: "us", InstanceType: "p5.48xlarge",
		GPUModel: "H100", CapacityType: "on-demand", Nodes: 2, GPUsPerNode: 8, NodePricePerHour: 98, PricePerHour: 196,
		EstimatedHours: 36, EstimatedCost: 7056}
	durations := make([]time.Duration, 0, b.N)
	before := Compilations()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		d, err := bundle.Evaluate(ctx, in)
		if err != nil || d.Denied() {
			b.Fatalf("decision %+v, error %v", d, err)
		}
		if _, err := bundle.EvaluatePlaced(ctx, &placed); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(Compilations()-before)/float64(len(durations)), "compilations/op")
	if Compilations() != before {
		b.Fatalf("%d compilations on the request path", Compilations()-before)
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkToValue compares building the input value directly with OPA's
// JSON round trip.
func BenchmarkToValue(b *testing.B) {
	in := typicalInput()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ToValue(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-roundtrip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ast.InterfaceToValue(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoad is the cost of one (re)load of the library: what a reload
// costs, never a request.
func BenchmarkLoad(b *testing.B) {
	loadLibrary(b)
	files, err := ReadFiles(libraryFS())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := LoadFiles(context.Background(), files, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
