package placement

import (
	"context"
	"testing"
	"time"
)

var zzSeeds = 10

func TestZZStats(t *testing.T) {
	for seed := range zzSeeds {
		p := randomProblem(uint64(1000+seed), 500, 2000)
		st := time.Now()
		s := newSolver(context.Background(), p, Limits{Time: time.Second, Gap: 1e-3})
		sol := s.run()
		t.Logf("seed %d: %v %s cost %.3f lb %.3f gap %.2e nodes %d residual %d", seed, time.Since(st), sol.Status, sol.Cost, sol.LowerBound, sol.Gap(), sol.Nodes, s.residual)
	}
}
