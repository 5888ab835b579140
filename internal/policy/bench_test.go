package policy

import (
	"context"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// BenchmarkEvaluate is the full library on a typical GPU workload: phase one
// (all packages) and phase two (budget with the placement), as admission
// makes them. It reports compilations/op, which must stay 0, latency
// percentiles from per-iteration timings (p50-ns, p99-ns, p999-ns) and the
// process's CPU time per evaluation (cpu-ns/op, GC included): on a shared
// machine wall-clock percentiles include time spent waiting for a core,
// CPU time much less so.
func BenchmarkEvaluate(b *testing.B) { benchmarkEvaluate(b) }

// BenchmarkEvaluateWebhookGC is BenchmarkEvaluate with the collector set as
// the webhook sets it (GCPercent, unless GOGC is set), applied explicitly
// here whatever GOGC says: the figures of the process that serves
// admissions.
func BenchmarkEvaluateWebhookGC(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	runtime.GC()
	benchmarkEvaluate(b)
}

func benchmarkEvaluate(b *testing.B) {
	bundle := loadLibrary(b)
	ctx := context.Background()
	placement := typicalPlacement()
	durations := make([]time.Duration, 0, b.N)
	before := Compilations()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		// A fresh input per request, as admission builds one.
		in := typicalInput()
		start := time.Now()
		d, err := bundle.Evaluate(ctx, in)
		if err != nil || d.Denied() {
			b.Fatalf("decision %+v, error %v", d, err)
		}
		if _, err := d.Placed(ctx, placement); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(Compilations()-before)/float64(len(durations)), "compilations/op")
	if Compilations() != before {
		b.Fatalf("%d compilations on the request path", Compilations()-before)
	}
	reportLatency(b, durations)
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(durations)), "cpu-ns/op")
	}
}

// reportLatency reports the 50th, 99th and 99.9th percentiles of durations.
func reportLatency(b *testing.B, durations []time.Duration) {
	slices.Sort(durations)
	for _, p := range []struct {
		unit string
		q    float64
	}{{"p50-ns", 0.50}, {"p99-ns", 0.99}, {"p999-ns", 0.999}} {
		b.ReportMetric(float64(durations[int(float64(len(durations)-1)*p.q)].Nanoseconds()), p.unit)
	}
}

func typicalPlacement() *placement.Placement {
	return &placement.Placement{Cloud: "aws", Region: "us-east-1", Jurisdiction: "us", InstanceType: "p5.48xlarge",
		GPUModel: "H100", CapacityType: "on-demand", Nodes: 2, GPUsPerNode: 8, NodePricePerHour: 98, PricePerHour: 196,
		EstimatedHours: 36, EstimatedCost: 7056}
}

// BenchmarkToValue compares building the input value directly with OPA's
// JSON round trip.
func BenchmarkToValue(b *testing.B) {
	in := typicalInput()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := toValue(reflect.ValueOf(in)); err != nil {
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
