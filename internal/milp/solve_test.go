package milp

import (
	"context"
	"testing"
	"time"
)

// TestSolveNodeLimitIsHonest: stopped by a node limit, the solver must not
// claim optimality unless it proved it, and its bound must hold.
func TestSolveNodeLimitIsHonest(t *testing.T) {
	p := randomProblem(3, 30, 120)
	full := Solve(context.Background(), p, Limits{Time: 5 * time.Second})
	cut := Solve(context.Background(), p, Limits{Nodes: 2})
	again := Solve(context.Background(), p, Limits{Nodes: 2})
	if cut.Cost != again.Cost || cut.LowerBound != again.LowerBound || cut.Status != again.Status {
		t.Fatalf("not deterministic: %+v vs %+v", cut, again)
	}
	if full.Status == StatusOptimal && cut.LowerBound > full.Cost+1e-6 {
		t.Fatalf("cut bound %v above the optimum %v", cut.LowerBound, full.Cost)
	}
	if cut.Status == StatusOptimal && full.Status == StatusOptimal && cut.Cost != full.Cost {
		t.Fatalf("cut claims optimal %v, the optimum is %v", cut.Cost, full.Cost)
	}
	if cut.Status == StatusFeasible && cut.Gap() < 0 {
		t.Fatalf("negative gap %v", cut.Gap())
	}
}
