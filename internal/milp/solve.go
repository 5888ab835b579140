package milp

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"
)

// solver is the state of one solve: the limits, the node count they are
// checked against, and the presolved options, shared by the components it
// solves one after the other.
type solver struct {
	ctx      context.Context
	p        *Problem
	lim      Limits
	deadline time.Time
	nodes    int
	stopped  bool

	// After presolve: the options each item keeps, and whether a resource
	// can ever bind.
	opts    [][]int
	binding []bool
}

// newSolver is the one constructor of a solver, for Solve, presolved and
// the neighbourhood searches of lns alike. deadline is when the search must
// stop (zero: never): Solve derives it from lim.Time, while a neighbourhood
// search inherits its parent's, so that the time limit bounds the whole
// solve and not each sub-search.
func newSolver(ctx context.Context, p *Problem, lim Limits, deadline time.Time) *solver {
	return &solver{ctx: ctx, p: p, lim: lim, deadline: deadline}
}

// out reports whether the time or node limit, or the context, has stopped
// the search; once it has, it stays stopped.
func (s *solver) out() bool {
	if s.stopped {
		return true
	}
	if (!s.deadline.IsZero() && time.Now().After(s.deadline)) || s.ctx.Err() != nil ||
		(s.lim.Nodes > 0 && s.nodes >= s.lim.Nodes) {
		s.stopped = true
	}
	return s.stopped
}

// run solves the whole problem: presolve, then each component in turn,
// sharing the gap budget, and the components' answers put together.
func (s *solver) run() *Solution {
	p := s.p
	sol := &Solution{Choice: make([]int, len(p.Items))}
	for i := range sol.Choice {
		sol.Choice[i] = -1
	}
	s.presolve()
	for i, o := range s.opts {
		if len(o) == 0 {
			sol.Unplaceable = append(sol.Unplaceable, i)
		}
	}
	if len(sol.Unplaceable) > 0 {
		sol.Status = StatusInfeasible
		return sol
	}
	status := StatusOptimal
	// Limits.Gap is a budget in cost: Gap × the sum of every item's cheapest
	// option, a lower bound on the optimum, so that the components' gaps
	// together stay within it. Small components, which usually close, go
	// first and pass what they do not use on to the larger ones.
	comps := s.components()
	slices.SortStableFunc(comps, func(a, b []int) int { return cmp.Compare(len(a), len(b)) })
	carry := 0.0
	for _, comp := range comps {
		allow := carry
		for _, i := range comp {
			allow += s.lim.Gap * math.Max(0, p.Items[i].Options[s.opts[i][0]].Cost)
		}
		c := s.solveComponent(comp, allow)
		if c.status == StatusOptimal || c.status == StatusFeasible {
			carry = math.Max(0, allow-(s.compCost(comp, c.choice)-c.bound))
		} else {
			carry = allow
		}
		sol.LowerBound += c.bound
		switch c.status {
		case StatusInfeasible:
			sol.Status = StatusInfeasible
			sol.Unplaceable = append(sol.Unplaceable, comp...)
			slices.Sort(sol.Unplaceable)
			return sol
		case StatusUnknown:
			status = StatusUnknown
		case StatusFeasible:
			if status == StatusOptimal {
				status = StatusFeasible
			}
		}
		if c.choice != nil {
			for k, i := range comp {
				sol.Choice[i] = c.choice[k]
				sol.Cost += p.Items[i].Options[c.choice[k]].Cost
			}
		}
	}
	sol.Status = status
	if status == StatusOptimal {
		sol.LowerBound = sol.Cost
	}
	if status == StatusUnknown {
		sol.Cost = math.Inf(1)
		for i := range sol.Choice {
			sol.Choice[i] = -1
		}
	}
	sol.Nodes = s.nodes
	return sol
}

// components groups the items that share binding resources; each group is
// an independent problem.
func (s *solver) components() [][]int {
	parent := make([]int, len(s.opts))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	owner := make([]int, len(s.p.Capacity))
	for r := range owner {
		owner[r] = -1
	}
	for i, os := range s.opts {
		for _, j := range os {
			o := s.p.Items[i].Options[j]
			if s.free(o) {
				continue
			}
			if owner[o.Resource] < 0 {
				owner[o.Resource] = i
			} else if a, b := find(owner[o.Resource]), find(i); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	idx := map[int]int{}
	var comps [][]int
	for i := range s.opts {
		r := find(i)
		k, ok := idx[r]
		if !ok {
			k = len(comps)
			idx[r] = k
			comps = append(comps, nil)
		}
		comps[k] = append(comps[k], i)
	}
	return comps
}

// compResult is one component's outcome; choice is indexed like the
// component's item list.
type compResult struct {
	status Status
	choice []int
	bound  float64
}

// comp is the working state of one component.
type comp struct {
	s     *solver
	items []int // global item indexes
	// res maps a global resource to its component-local index, for binding
	// resources only.
	res  map[int]int
	caps []float64

	inc     []int
	incCost float64
	// allow is the absolute gap at which the search may stop.
	allow float64
}

// compCost is what a component's choice costs.
func (s *solver) compCost(items, choice []int) float64 {
	cost := 0.0
	for k, i := range items {
		cost += s.p.Items[i].Options[choice[k]].Cost
	}
	return cost
}

// solveComponent solves one component; allow is the absolute gap it may
// stop at (see Limits.Gap).
func (s *solver) solveComponent(items []int, allow float64) compResult {
	c := &comp{s: s, items: items, res: map[int]int{}, incCost: math.Inf(1), allow: allow}
	for _, i := range items {
		for _, j := range s.opts[i] {
			o := s.p.Items[i].Options[j]
			if s.free(o) {
				continue
			}
			if _, ok := c.res[o.Resource]; !ok {
				c.res[o.Resource] = len(c.caps)
				c.caps = append(c.caps, s.p.Capacity[o.Resource])
			}
		}
	}
	// A component without binding resources: every item takes its cheapest.
	if len(c.caps) == 0 {
		ch := make([]int, len(items))
		b := 0.0
		for k, i := range items {
			ch[k] = s.opts[i][0]
			b += s.p.Items[i].Options[ch[k]].Cost
		}
		return compResult{status: StatusOptimal, choice: ch, bound: b}
	}
	return c.lagrangian()
}
