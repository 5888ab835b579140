package milp

import (
	"context"
	"math"
	"time"
)

// Problem is a multiple-choice knapsack with shared capacities: every item
// takes exactly one of its options, and each option draws on at most one
// resource whose capacity bounds the total drawn.
//
//	minimise   Σ_i Σ_j cost_ij · x_ij
//	subject to Σ_j x_ij = 1                       for every item i
//	           Σ_{ij: res_ij = r} use_ij · x_ij ≤ cap_r  for every resource r
//	           x_ij ∈ {0, 1}
type Problem struct {
	Items []Item
	// Capacity[r] bounds the total use of resource r.
	Capacity []float64
}

// Item is one decision: exactly one of its options is taken.
type Item struct {
	Options []Option
}

// Option is one way to satisfy an item. Resource is an index into
// Problem.Capacity, or -1 when the option draws on no limited resource.
// The knapsack bound applies only when every Use is a whole number.
type Option struct {
	Cost     float64
	Resource int
	Use      float64
}

// Limits bound a solve. Zero values mean no limit.
type Limits struct {
	// Time bounds the wall-clock time of the whole solve.
	Time time.Duration
	// Nodes bounds the branch-and-bound nodes, the neighbourhood searches'
	// included. It is checked between nodes and between neighbourhood
	// searches (of up to 150 nodes each), so a solve can end past it by
	// that much; unlike Time it is deterministic.
	Nodes int
	// Gap stops the search once the incumbent is proven within this
	// relative distance of the optimum, (cost − bound) / cost ≤ Gap, as
	// CBC's -ratio does. Zero searches until optimality is proven.
	Gap float64
}

// Status says how a solve ended.
type Status string

// The ways a solve ends.
const (
	StatusOptimal    Status = "optimal"    // proven optimal
	StatusFeasible   Status = "feasible"   // a limit stopped the search: Cost is an upper bound, LowerBound a lower one
	StatusInfeasible Status = "infeasible" // proven: no assignment satisfies every capacity
	StatusUnknown    Status = "unknown"    // a limit stopped the search before any assignment was found
)

// Solution is the outcome of Solve.
type Solution struct {
	// Status says whether Cost is proven optimal, and if not why not.
	Status Status
	// Choice[i] is the option chosen for item i (-1 if none was found).
	Choice []int
	// Cost is what Choice costs: +Inf when Status is unknown, and not
	// meaningful when it is infeasible.
	Cost float64
	// LowerBound is a proven lower bound on the optimal cost; equal to Cost
	// when Status is optimal.
	LowerBound float64
	// Unplaceable lists, when Status is infeasible, the items that have no
	// option fitting the capacities on their own whatever the others do, or
	// else the items of the component that cannot be satisfied together.
	Unplaceable []int
	// Nodes is the branch-and-bound nodes searched, the neighbourhood
	// searches' included.
	Nodes int
}

// Gap is the relative distance between the incumbent and the lower bound,
// (Cost − LowerBound) / Cost: 0 when proven optimal, +Inf without an
// incumbent.
func (s *Solution) Gap() float64 {
	if s.Status == StatusOptimal {
		return 0
	}
	if s.Status != StatusFeasible {
		return math.Inf(1)
	}
	return (s.Cost - s.LowerBound) / math.Max(math.Abs(s.Cost), 1e-9)
}

// Tolerances. relGap is the pruning tolerance: a node whose bound is within
// it of the incumbent cannot improve it by more than rounding noise.
const (
	relGap   = 1e-9
	capSlack = 1e-9 // capacities are whole units (GPUs); this only absorbs float error
)

// Solve runs presolve, splits the problem into independent components and
// solves each by Lagrangian branch-and-bound (search.go). It is
// deterministic for the same problem, node limit and gap; a time limit can
// stop it earlier on a slower machine.
func Solve(ctx context.Context, p *Problem, lim Limits) *Solution {
	var deadline time.Time
	if lim.Time > 0 {
		deadline = time.Now().Add(lim.Time)
	}
	return newSolver(ctx, p, lim, deadline).run()
}
