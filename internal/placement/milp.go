package placement

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
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
	LPs         int
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
	intTol   = 1e-6
	lpTol    = 1e-10
	capSlack = 1e-9 // capacities are whole GPUs; this only absorbs float error
	// maxLPRows caps the relaxations handed to gonum, whose dense simplex
	// refactorises the basis at every pivot (O(m³)). Larger nodes are
	// bounded by the weaker per-item minimum instead.
	maxLPRows = 400
)

// Solve runs presolve, a greedy incumbent and best-bound branch-and-bound
// over LP relaxations solved by gonum's simplex. It is deterministic for the
// same problem and node limit; a time limit can stop it earlier on a slower
// machine.
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
	lps      int
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
	for _, comp := range s.components() {
		c := s.solveComponent(comp)
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
	sol.Nodes, sol.LPs = s.nodes, s.lps
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

// node is a branch-and-bound node: the decisions on the path from the root.
type node struct {
	parent *node
	item   int // component-local item
	opt    int // option index into Problem.Items[..].Options
	fix    bool
	bound  float64
	depth  int
	seq    int
}

type nodeHeap []*node

func (h nodeHeap) Len() int { return len(h) }
func (h nodeHeap) Less(a, b int) bool {
	return cmp.Or(cmp.Compare(h[a].bound, h[b].bound), cmp.Compare(h[b].depth, h[a].depth), cmp.Compare(h[a].seq, h[b].seq)) < 0
}
func (h nodeHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *nodeHeap) Push(x any)   { *h = append(*h, x.(*node)) }
func (h *nodeHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	return n
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
}

func (s *solver) solveComponent(items []int) compResult {
	c := &comp{s: s, items: items, res: map[int]int{}, incCost: math.Inf(1)}
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

// state is a node's view of the component: per item the allowed options
// (nil when fixed), the fixed choices and the capacity left.
type state struct {
	allowed [][]int
	fixed   []int
	left    []float64
	cost    float64 // of the fixed items
}

// build applies a node's decisions and propagates: an item with one allowed
// option, or whose cheapest allowed option is free, is fixed to it. It
// reports false when the node is infeasible.
func (c *comp) build(n *node) (*state, bool) {
	p := c.s.p
	st := &state{allowed: make([][]int, len(c.items)), fixed: make([]int, len(c.items)), left: slices.Clone(c.caps)}
	for k := range st.fixed {
		st.fixed[k] = -1
	}
	forbid := map[[2]int]bool{}
	for d := n; d != nil && d.depth > 0; d = d.parent {
		if d.fix {
			if st.fixed[d.item] < 0 {
				st.fixed[d.item] = d.opt
			}
		} else {
			forbid[[2]int{d.item, d.opt}] = true
		}
	}
	for k, i := range c.items {
		if j := st.fixed[k]; j >= 0 {
			if !c.take(st, i, j) {
				return nil, false
			}
			continue
		}
		for _, j := range c.s.opts[i] {
			if !forbid[[2]int{k, j}] {
				st.allowed[k] = append(st.allowed[k], j)
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for k, i := range c.items {
			if st.fixed[k] >= 0 {
				continue
			}
			kept := st.allowed[k][:0]
			for _, j := range st.allowed[k] {
				if c.fits(st, p.Items[i].Options[j]) {
					kept = append(kept, j)
				}
			}
			st.allowed[k] = kept
			if len(kept) == 0 {
				return nil, false
			}
			// allowed stays in ascending cost order, so kept[0] is the
			// cheapest; when it is free nothing can beat it.
			if len(kept) == 1 || c.s.free(p.Items[i].Options[kept[0]]) {
				st.fixed[k] = kept[0]
				st.allowed[k] = nil
				if !c.take(st, i, kept[0]) {
					return nil, false
				}
				changed = true
			}
		}
	}
	return st, true
}

func (c *comp) fits(st *state, o Option) bool {
	if c.s.free(o) {
		return true
	}
	return o.Use <= st.left[c.res[o.Resource]]+capSlack
}

func (c *comp) take(st *state, i, j int) bool {
	o := c.s.p.Items[i].Options[j]
	st.cost += o.Cost
	if c.s.free(o) {
		return true
	}
	r := c.res[o.Resource]
	st.left[r] -= o.Use
	return st.left[r] >= -capSlack
}

// greedy completes a node's state into a full assignment, taking for each
// open item (in order of descending regret, then index) the first allowed
// option in prefer order that fits. It returns nil when it gets stuck.
func (c *comp) greedy(st *state, prefer func(k int) []int) []int {
	p := c.s.p
	ch := slices.Clone(st.fixed)
	left := slices.Clone(st.left)
	var open []int
	for k := range ch {
		if ch[k] < 0 {
			open = append(open, k)
		}
	}
	regret := func(k int) float64 {
		a := st.allowed[k]
		if len(a) < 2 {
			return math.Inf(1)
		}
		return p.Items[c.items[k]].Options[a[1]].Cost - p.Items[c.items[k]].Options[a[0]].Cost
	}
	slices.SortStableFunc(open, func(a, b int) int { return cmp.Compare(regret(b), regret(a)) })
	for _, k := range open {
		i := c.items[k]
		placed := false
		for _, j := range prefer(k) {
			o := p.Items[i].Options[j]
			if c.s.free(o) {
				ch[k], placed = j, true
				break
			}
			r := c.res[o.Resource]
			if o.Use <= left[r]+capSlack {
				left[r] -= o.Use
				ch[k], placed = j, true
				break
			}
		}
		if !placed {
			return nil
		}
	}
	c.improve(ch, left)
	return ch
}

// improve is a 1-opt local search: move an item to a cheaper option that
// fits in what is left, until nothing moves.
func (c *comp) improve(ch []int, left []float64) {
	p := c.s.p
	for moved := true; moved; {
		moved = false
		for k, i := range c.items {
			cur := p.Items[i].Options[ch[k]]
			for _, j := range c.s.opts[i] {
				o := p.Items[i].Options[j]
				if o.Cost >= cur.Cost {
					break
				}
				if !c.s.free(o) {
					r := c.res[o.Resource]
					extra := o.Use
					if !c.s.free(cur) && cur.Resource == o.Resource {
						extra -= cur.Use
					}
					if extra > left[r]+capSlack {
						continue
					}
					left[r] -= extra
					if !c.s.free(cur) && cur.Resource != o.Resource {
						left[c.res[cur.Resource]] += cur.Use
					}
				} else if !c.s.free(cur) {
					left[c.res[cur.Resource]] += cur.Use
				}
				ch[k], cur, moved = j, o, true
			}
		}
	}
}

func (c *comp) offer(ch []int) {
	if ch == nil {
		return
	}
	cost := 0.0
	for k, i := range c.items {
		cost += c.s.p.Items[i].Options[ch[k]].Cost
	}
	if cost < c.incCost-relGap*math.Max(1, math.Abs(cost)) {
		c.inc, c.incCost = ch, cost
	}
}

func (c *comp) branchAndBound() compResult {
	root := &node{}
	st, ok := c.build(root)
	if !ok {
		return compResult{status: StatusInfeasible}
	}
	c.offer(c.greedy(st, func(k int) []int { return st.allowed[k] }))

	open := &nodeHeap{}
	seq := 0
	process := func(n *node) {
		c.s.nodes++
		st, ok := c.build(n)
		if !ok {
			return
		}
		bound, x, lpOK := c.relax(st)
		if !lpOK {
			return // proven infeasible
		}
		bound = math.Max(bound, n.bound)
		if bound >= c.incCost-relGap*math.Max(1, math.Abs(c.incCost)) {
			return
		}
		if x == nil {
			// Too large for the LP: branch on the first open item's
			// cheapest option, bounded by the per-item minimum.
			for k := range st.fixed {
				if st.fixed[k] < 0 {
					c.push(open, n, k, st.allowed[k][0], bound, &seq)
					return
				}
			}
			c.offer(st.fixed)
			return
		}
		// Round: fix what the LP fixed, then take options in order of LP
		// weight.
		frac, fracOpt, best := -1, -1, 2.0
		prefer := func(k int) []int {
			a := slices.Clone(st.allowed[k])
			slices.SortStableFunc(a, func(p, q int) int { return cmp.Compare(x[k][q], x[k][p]) })
			return a
		}
		for k := range st.fixed {
			if st.fixed[k] >= 0 {
				continue
			}
			for _, j := range st.allowed[k] {
				v := x[k][j]
				if v > intTol && v < 1-intTol {
					if d := math.Abs(v - 0.5); d < best {
						frac, fracOpt, best = k, j, d
					}
				}
			}
		}
		if frac < 0 {
			ch := slices.Clone(st.fixed)
			for k := range ch {
				if ch[k] < 0 {
					for _, j := range st.allowed[k] {
						if x[k][j] >= 1-intTol {
							ch[k] = j
						}
					}
				}
			}
			if c.feasible(ch) {
				c.offer(ch)
				return
			}
			c.offer(c.greedy(st, prefer))
			// The LP point was integral within tolerance but not
			// feasible exactly: branch on the first open item.
			for k := range st.fixed {
				if st.fixed[k] < 0 {
					c.push(open, n, k, prefer(k)[0], bound, &seq)
					return
				}
			}
			return
		}
		c.offer(c.greedy(st, prefer))
		if bound >= c.incCost-relGap*math.Max(1, math.Abs(c.incCost)) {
			return
		}
		c.push(open, n, frac, fracOpt, bound, &seq)
	}
	process(root)
	for open.Len() > 0 {
		if c.s.out() {
			break
		}
		n := heap.Pop(open).(*node)
		if n.bound >= c.incCost-relGap*math.Max(1, math.Abs(c.incCost)) {
			continue
		}
		process(n)
	}
	// An empty queue means the search finished: the incumbent is optimal,
	// or there is none and the component is infeasible.
	switch {
	case open.Len() == 0 && c.inc == nil:
		return compResult{status: StatusInfeasible}
	case open.Len() == 0:
		return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
	}
	lower := math.Max((*open)[0].bound, c.trivialBound(st))
	if c.inc == nil {
		return compResult{status: StatusUnknown, bound: lower}
	}
	return compResult{status: StatusFeasible, choice: c.inc, bound: math.Min(lower, c.incCost)}
}

// trivialBound is the sum of each item's cheapest allowed option at the
// root: always valid, used when the search stopped before the LP.
func (c *comp) trivialBound(st *state) float64 {
	b := st.cost
	for k, i := range c.items {
		if st.fixed[k] < 0 {
			b += c.s.p.Items[i].Options[st.allowed[k][0]].Cost
		}
	}
	return b
}

func (c *comp) push(open *nodeHeap, n *node, k, j int, bound float64, seq *int) {
	for _, fix := range []bool{true, false} {
		*seq++
		heap.Push(open, &node{parent: n, item: k, opt: j, fix: fix, bound: bound, depth: n.depth + 1, seq: *seq})
	}
}

func (c *comp) feasible(ch []int) bool {
	left := slices.Clone(c.caps)
	for k, i := range c.items {
		if ch[k] < 0 {
			return false
		}
		o := c.s.p.Items[i].Options[ch[k]]
		if c.s.free(o) {
			continue
		}
		r := c.res[o.Resource]
		left[r] -= o.Use
		if left[r] < -capSlack {
			return false
		}
	}
	return true
}

// relax solves the LP relaxation of a node with gonum. It returns the bound
// (fixed cost included), the LP point per open item and option (nil when the
// LP was too large and the per-item minimum bound was used), and false when
// the node is proven infeasible.
func (c *comp) relax(st *state) (float64, map[int]map[int]float64, bool) {
	p := c.s.p
	var open []int
	for k := range st.fixed {
		if st.fixed[k] < 0 {
			open = append(open, k)
		}
	}
	if len(open) == 0 {
		return st.cost, map[int]map[int]float64{}, true
	}
	// Rows: one per open item, one per resource some open option uses.
	rowOf := map[int]int{}
	var resRows []int
	nCols := 0
	for _, k := range open {
		for _, j := range st.allowed[k] {
			o := p.Items[c.items[k]].Options[j]
			if !c.s.free(o) {
				r := c.res[o.Resource]
				if _, ok := rowOf[r]; !ok {
					rowOf[r] = len(open) + len(resRows)
					resRows = append(resRows, r)
				}
			}
			nCols++
		}
	}
	m := len(open) + len(resRows)
	minBound := c.trivialBound(st)
	if m > maxLPRows || c.s.out() {
		return minBound, nil, true
	}
	n := nCols + len(resRows)
	A := mat.NewDense(m, n, nil)
	obj := make([]float64, n)
	b := make([]float64, m)
	// Scale: costs by the largest, each resource row by its capacity, so
	// that gonum's absolute tolerances mean the same at any price level.
	scale := 0.0
	for _, k := range open {
		for _, j := range st.allowed[k] {
			scale = math.Max(scale, math.Abs(p.Items[c.items[k]].Options[j].Cost))
		}
	}
	if scale == 0 {
		scale = 1
	}
	type col struct{ k, j int }
	cols := make([]col, 0, nCols)
	for row, k := range open {
		b[row] = 1
		for _, j := range st.allowed[k] {
			o := p.Items[c.items[k]].Options[j]
			ci := len(cols)
			cols = append(cols, col{k, j})
			A.Set(row, ci, 1)
			obj[ci] = o.Cost / scale
			if !c.s.free(o) {
				r := c.res[o.Resource]
				A.Set(rowOf[r], ci, o.Use/math.Max(c.caps[r], 1))
			}
		}
	}
	for s, r := range resRows {
		row := len(open) + s
		A.Set(row, nCols+s, 1)
		b[row] = math.Max(st.left[r], 0) / math.Max(c.caps[r], 1)
	}
	// A feasible basis from a greedy completion spares gonum its phase 1.
	var basis []int
	if g := c.greedy(st, func(k int) []int { return st.allowed[k] }); g != nil {
		c.offer(g)
		used := map[int]bool{}
		for ci, cl := range cols {
			if g[cl.k] == cl.j && !used[cl.k] {
				used[cl.k] = true
				basis = append(basis, ci)
			}
		}
		for s := range resRows {
			basis = append(basis, nCols+s)
		}
		if len(basis) != m {
			basis = nil
		}
	}
	c.s.lps++
	f, xs, err := solveLP(obj, A, b, basis)
	switch {
	case errors.Is(err, lp.ErrInfeasible):
		return 0, nil, false
	case err != nil:
		// Numerical trouble in the dense simplex: fall back to the weaker
		// bound rather than trust a doubtful one.
		return minBound, nil, true
	}
	x := map[int]map[int]float64{}
	for ci, cl := range cols {
		if x[cl.k] == nil {
			x[cl.k] = map[int]float64{}
		}
		x[cl.k][cl.j] = xs[ci]
	}
	// The LP optimum is exact only up to the simplex's tolerance; shave a
	// relative hair so that the bound stays a bound.
	bound := st.cost + f*scale - 1e-9*math.Max(1, math.Abs(f*scale))
	return math.Max(bound, minBound), x, true
}

// solveLP wraps lp.Simplex, turning its panics on a bad initial basis into
// errors.
func solveLP(c []float64, A *mat.Dense, b []float64, basis []int) (f float64, x []float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			if basis != nil {
				f, x, err = solveLP(c, A, b, nil)
				return
			}
			err = errors.New("lp: simplex panicked")
		}
	}()
	return lp.Simplex(c, A, b, lpTol, basis)
}
