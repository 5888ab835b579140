package placement

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"
)

// Problem is the integer program behind batch placement, in the shape the
// solver understands: every item (a gang) takes exactly one of its options
// (an offer and capacity type), and each option draws on at most one
// resource (a quota key) whose capacity bounds the total drawn.
//
//	minimise   Σ_i Σ_j cost_ij · x_ij
//	subject to Σ_j x_ij = 1                       for every item i
//	           Σ_{ij: res_ij = r} use_ij · x_ij ≤ cap_r  for every resource r
//	           x_ij ∈ {0, 1}
type Problem struct {
	Items    []Item
	Capacity []float64
}

// Item is one gang's options.
type Item struct {
	Options []Option
}

// Option is one way to run an item. Resource is an index into
// Problem.Capacity, or -1 when the option draws on no limited resource.
type Option struct {
	Cost     float64
	Resource int
	Use      float64
}

// Limits bound a solve. Zero values mean no limit.
type Limits struct {
	Time  time.Duration
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
	Status Status
	// Choice[i] is the option chosen for item i (-1 if none was found).
	Choice []int
	Cost   float64
	// LowerBound is a proven lower bound on the optimal cost; equal to Cost
	// when Status is optimal.
	LowerBound float64
	// Unplaceable lists items that have no option fitting the capacities on
	// their own, whatever the others do.
	Unplaceable []int
	Nodes       int
}

// Gap is the relative distance between the incumbent and the lower bound.
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
	capSlack = 1e-9 // capacities are whole GPUs; this only absorbs float error
)

// Solve runs presolve, splits the problem into independent components and
// solves each by Lagrangian branch-and-bound (milp_lag.go). It is
// deterministic for the same problem, node limit and gap; a time limit can
// stop it earlier on a slower machine.
func Solve(ctx context.Context, p *Problem, lim Limits) *Solution {
	s := newSolver(ctx, p, lim)
	return s.run()
}

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
	// residual is the most items any component left to branch on.
	residual int
}

func newSolver(ctx context.Context, p *Problem, lim Limits) *solver {
	s := &solver{ctx: ctx, p: p, lim: lim}
	if lim.Time > 0 {
		s.deadline = time.Now().Add(lim.Time)
	}
	return s
}

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

// presolve drops options that cannot be in any optimum:
//   - options that overflow their resource on their own;
//   - options dominated within their resource (another costs no more and
//     uses no more);
//   - options of limited resources that cost no less than the item's
//     cheapest option on an unlimited (or never-binding) resource.
//
// A resource never binds when every item taking its largest use there still
// fits; its options then count as unlimited. Dropping options can make more
// resources non-binding, so it iterates.
func (s *solver) presolve() {
	p := s.p
	s.opts = make([][]int, len(p.Items))
	s.binding = make([]bool, len(p.Capacity))
	for r := range s.binding {
		s.binding[r] = true
	}
	for i, it := range p.Items {
		for j, o := range it.Options {
			if o.Resource >= 0 && o.Use > p.Capacity[o.Resource]+capSlack {
				continue
			}
			s.opts[i] = append(s.opts[i], j)
		}
	}
	for changed := true; changed; {
		changed = false
		for i := range s.opts {
			if n := s.pruneItem(i); n != len(s.opts[i]) {
				s.opts[i] = s.opts[i][:n]
				changed = true
			}
		}
		maxUse := make([]float64, len(p.Capacity))
		for i, os := range s.opts {
			perRes := map[int]float64{}
			for _, j := range os {
				o := p.Items[i].Options[j]
				if o.Resource >= 0 && s.binding[o.Resource] {
					perRes[o.Resource] = math.Max(perRes[o.Resource], o.Use)
				}
			}
			for r, u := range perRes {
				maxUse[r] += u
			}
		}
		for r := range s.binding {
			if s.binding[r] && maxUse[r] <= p.Capacity[r]+capSlack {
				s.binding[r] = false
				changed = true
			}
		}
	}
}

// free reports whether option o of an item draws on no binding resource.
func (s *solver) free(o Option) bool { return o.Resource < 0 || !s.binding[o.Resource] }

// pruneItem compacts s.opts[i] in place to the options worth keeping and
// returns how many remain, in ascending (cost, index) order.
func (s *solver) pruneItem(i int) int {
	opts := s.p.Items[i].Options
	os := s.opts[i]
	slices.SortStableFunc(os, func(a, b int) int { return cmp.Or(cmp.Compare(opts[a].Cost, opts[b].Cost), cmp.Compare(a, b)) })
	n := 0
	bestFree := false
	// Walking in cost order, an option survives only if it uses strictly
	// less of its resource than every cheaper kept option of that resource.
	minUse := map[int]float64{}
	for _, j := range os {
		if bestFree {
			break
		}
		o := opts[j]
		if s.free(o) {
			os[n] = j
			n++
			bestFree = true
			continue
		}
		if u, seen := minUse[o.Resource]; seen && u <= o.Use {
			continue
		}
		minUse[o.Resource] = o.Use
		os[n] = j
		n++
	}
	return n
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
