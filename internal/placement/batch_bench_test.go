package placement

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkOptimizerVsCBC is issue 5's figure: 500 gangs × 2,000 offers
// with tight quotas, 10 seeds, our solver at a 2 s limit against CBC on the
// exported model. Run it with `make bench-optimizer` (-benchtime=1x: each
// seed is solved once; the figures are medians over the seeds).
func BenchmarkOptimizerVsCBC(b *testing.B) {
	const seeds = 10
	for range b.N {
		var ours, gaps, cbc []float64
		optimal := 0
		for seed := range seeds {
			p := randomProblem(uint64(1000+seed), 500, 2000)
			start := time.Now()
			s := Solve(context.Background(), p, Limits{Time: 2 * time.Second})
			el := time.Since(start)
			ref := solveCBC(b, p, "-sec", "120") // CBC's time beyond 120 s is reported as ≥ 120 s
			if s.Status == StatusOptimal {
				optimal++
			}
			gap := s.Gap()
			ours = append(ours, float64(el.Milliseconds()))
			gaps = append(gaps, gap)
			cbc = append(cbc, float64(ref.elapsed.Milliseconds()))
			b.Logf("seed %d: ours %s in %v (cost %.3f, bound %.3f, gap %.5f%%, %d nodes); cbc %.3f in %v (stopped on time: %v)",
				seed, s.Status, el, s.Cost, s.LowerBound, 100*gap, s.Nodes, ref.cost, ref.elapsed, ref.stopped)
		}
		med := func(v []float64) float64 { slices.Sort(v); return (v[len(v)/2] + v[(len(v)-1)/2]) / 2 }
		b.ReportMetric(med(ours), "ours-ms")
		b.ReportMetric(100*med(gaps), "ours-gap-%")
		b.ReportMetric(med(cbc), "cbc-ms")
		b.ReportMetric(float64(optimal), "proven-optimal/10")
		fmt.Printf("median over %d seeds: ours %.0f ms (gap %.4f%%, %d/%d proven optimal), cbc %.0f ms\n",
			seeds, med(ours), 100*med(gaps), optimal, seeds, med(cbc))
	}
}
