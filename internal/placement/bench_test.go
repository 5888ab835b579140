package placement

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/costing/costingtest"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// BenchmarkPlace5000 places one gang against a 5,000-offer catalog, as the
// admission path does. Sub-benchmarks cover a model-restricted workload (the
// common case: the index narrows the scan) and an any-model one (full scan).
func BenchmarkPlace5000(b *testing.B) {
	cat, err := costingtest.Catalog(5000, 42)
	if err != nil {
		b.Fatal(err)
	}
	quotas := quota.GPUCounts{}
	for i, o := range cat.Offers() {
		if i%7 == 0 {
			quotas[quota.Key{Cloud: o.Cloud, Region: o.Region, GPUModel: o.GPUModel}] = 64
		}
	}
	p := New(cat, quotas)
	for name, w := range map[string]*workload.Workload{
		"h100-gang-4x8":        gang(4, 8, models("H100", "H200"), cpuMem(90000, 900<<10)),
		"any-model-1gpu":       gang(1, 1, cpuMem(4000, 16<<10)),
		"interruptible-l4-x16": gang(16, 1, models("L4"), interruptible),
	} {
		w.ExpectedDuration = 10 * time.Hour
		b.Run(name, func(b *testing.B) {
			req := &Request{Workload: w, Restrictions: &costing.Restrictions{Jurisdictions: []string{"us", "eu"}}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Place(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlaceLatency reports the p50 and p99 of single placements over a
// mix of random workloads against a 5,000-offer catalog.
func BenchmarkPlaceLatency(b *testing.B) {
	cat, err := costingtest.Catalog(5000, 7)
	if err != nil {
		b.Fatal(err)
	}
	p := New(cat, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	all := []string{"H100", "H200", "A100-80GB", "A100", "L40S", "L4", "A10G", "T4"}
	var reqs []*Request
	for i := 0; i < 512; i++ {
		w := gang(int32(1+rng.IntN(16)), int64([]int{1, 1, 2, 4, 8}[rng.IntN(5)]))
		w.Interruptible = rng.IntN(3) == 0
		if rng.IntN(4) > 0 {
			w.GPUModels = []string{all[rng.IntN(len(all))], all[rng.IntN(len(all))]}
		}
		r := &costing.Restrictions{}
		if rng.IntN(2) == 0 {
			r.Jurisdictions = []string{[]string{"us", "eu", "jp"}[rng.IntN(3)]}
		}
		req := &Request{Workload: w, Restrictions: r}
		// The latency goal is for placements; infeasible requests take the
		// diagnosis path, measured by BenchmarkPlaceInfeasible.
		if _, err := p.Place(req); err == nil {
			reqs = append(reqs, req)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := time.Now()
		_, _ = p.Place(reqs[i%len(reqs)])
		lat = append(lat, time.Since(start))
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkPlaceInfeasible measures the failure path, which re-runs the
// filters to say which one emptied the candidate set.
func BenchmarkPlaceInfeasible(b *testing.B) {
	cat, err := costingtest.Catalog(5000, 7)
	if err != nil {
		b.Fatal(err)
	}
	p := New(cat, nil)
	req := &Request{Workload: gang(1, 8, models("H100")), Restrictions: &costing.Restrictions{Jurisdictions: []string{"mars"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Place(req); !isNoFeasible(err) {
			b.Fatal(err)
		}
	}
}
