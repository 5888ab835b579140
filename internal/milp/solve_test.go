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

// TestSolveSmall covers the ends a solve can reach on problems small enough
// to check by hand.
func TestSolveSmall(t *testing.T) {
	// shards is docs/optimizer.md's worked example: ten items of 10 units at
	// 12 on a resource of 40 units, or at 15 on no resource.
	shards := &Problem{Capacity: []float64{40}}
	for range 10 {
		shards.Items = append(shards.Items, Item{Options: []Option{{Cost: 12, Resource: 0, Use: 10}, {Cost: 15, Resource: -1, Use: 10}}})
	}
	tests := map[string]struct {
		p           *Problem
		status      Status
		cost        float64
		unplaceable []int
	}{
		"worked example": {p: shards, status: StatusOptimal, cost: 4*12 + 6*15},
		"no items":       {p: &Problem{}, status: StatusOptimal},
		"no binding resource: every item takes its cheapest": {
			p: &Problem{Capacity: []float64{100}, Items: []Item{
				{Options: []Option{{Cost: 3, Resource: 0, Use: 8}, {Cost: 5, Resource: -1, Use: 8}}},
				{Options: []Option{{Cost: 2, Resource: 0, Use: 8}}},
			}},
			status: StatusOptimal, cost: 5,
		},
		"an item that overflows on its own": {
			p: &Problem{Capacity: []float64{8}, Items: []Item{
				{Options: []Option{{Cost: 1, Resource: 0, Use: 4}}},
				{Options: []Option{{Cost: 1, Resource: 0, Use: 16}}},
			}},
			status: StatusInfeasible, unplaceable: []int{1},
		},
		"items that fit alone but not together": {
			p: &Problem{Capacity: []float64{8, 8}, Items: []Item{
				{Options: []Option{{Cost: 1, Resource: 0, Use: 6}, {Cost: 2, Resource: 1, Use: 6}}},
				{Options: []Option{{Cost: 1, Resource: 0, Use: 6}, {Cost: 2, Resource: 1, Use: 6}}},
				{Options: []Option{{Cost: 1, Resource: 0, Use: 6}, {Cost: 2, Resource: 1, Use: 6}}},
			}},
			status: StatusInfeasible, unplaceable: []int{0, 1, 2},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Solve(context.Background(), tc.p, Limits{})
			if s.Status != tc.status || !slices.Equal(s.Unplaceable, tc.unplaceable) {
				t.Fatalf("status %s, unplaceable %v; want %s, %v", s.Status, s.Unplaceable, tc.status, tc.unplaceable)
			}
			if s.Status != StatusOptimal {
				return
			}
			checkAssignment(t, tc.p, s)
			if s.Cost != tc.cost || s.LowerBound != tc.cost || s.Gap() != 0 {
				t.Fatalf("cost %v bound %v gap %v, want %v proven", s.Cost, s.LowerBound, s.Gap(), tc.cost)
			}
		})
	}
}
