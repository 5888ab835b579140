package milp

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
)

// hardProblem needs 1,911 nodes to prove its optimum: hard enough that
// every node limit of TestSolveNodeLimitIsHonest cuts the search.
func hardProblem() *Problem { return randomProblem(4*7919+100, 100, 400) }

// TestSolveNodeLimitIsHonest: stopped by a node limit, the solver must
// report that it did not prove optimality, keep a bound that holds and an
// assignment that fits, and do so deterministically. The instance guards
// the test: unless the unlimited search needs more nodes than each limit,
// the limit never cut anything and the test would prove nothing.
func TestSolveNodeLimitIsHonest(t *testing.T) {
	p := hardProblem()
	full := Solve(context.Background(), p, Limits{})
	if full.Status != StatusOptimal {
		t.Fatalf("the unlimited search ended %s; the test needs a proven optimum", full.Status)
	}
	tol := 1e-6 * math.Max(1, full.Cost)
	for _, limit := range []int{1, 50, 300, 1000} {
		t.Run(fmt.Sprintf("nodes=%d", limit), func(t *testing.T) {
			if full.Nodes <= limit+lnsNodes {
				t.Fatalf("the optimum takes %d nodes, within the limit %d and its slack: nothing to cut", full.Nodes, limit)
			}
			cut := Solve(context.Background(), p, Limits{Nodes: limit})
			t.Logf("limit %d: %s after %d nodes, cost %v bound %v (optimum %v after %d nodes)",
				limit, cut.Status, cut.Nodes, cut.Cost, cut.LowerBound, full.Cost, full.Nodes)
			if cut.Status != StatusFeasible {
				t.Fatalf("status %s, want feasible: the limit stopped the search before the proof", cut.Status)
			}
			if cut.Nodes < limit || cut.Nodes > limit+lnsNodes || cut.Nodes >= full.Nodes {
				t.Fatalf("%d nodes: want the limit %d reached, overshot by at most one neighbourhood search (%d), and fewer than the proof's %d",
					cut.Nodes, limit, lnsNodes, full.Nodes)
			}
			checkAssignment(t, p, cut)
			if cut.LowerBound > full.Cost+tol || cut.Cost < full.Cost-tol {
				t.Fatalf("cost %v bound %v around the optimum %v", cut.Cost, cut.LowerBound, full.Cost)
			}
			if g := cut.Gap(); !(g > 0) || math.IsInf(g, 1) {
				t.Fatalf("gap %v: a cut search has an incumbent and has not closed the gap", g)
			}
			again := Solve(context.Background(), p, Limits{Nodes: limit})
			if again.Status != cut.Status || again.Cost != cut.Cost || again.LowerBound != cut.LowerBound ||
				again.Nodes != cut.Nodes || !slices.Equal(again.Choice, cut.Choice) {
				t.Fatalf("not deterministic: %+v vs %+v", cut, again)
			}
		})
	}
}
