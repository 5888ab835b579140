package placement

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
)

// Lagrangian branch-and-bound for one component.
//
// Relaxing the quota rows with multipliers λ ≥ 0 leaves one independent
// choice per gang:
//
//	L(λ) = Σ_i min_j (c_ij + λ_r(j) · a_ij) − Σ_r λ_r · cap_r
//
// L(λ) ≤ the optimum for every λ ≥ 0 (weak duality), and because each gang's
// subproblem is integral, max_λ L(λ) equals the LP relaxation's bound. After
// presolve only a handful of quotas can bind, so λ is short and L is cheap to
// evaluate: one pass over the kept options. The search maximises L by
// projected subgradient ascent (any λ gives a valid bound, so stopping early
// only weakens the bound, never the proof), fixes options by reduced cost,
// and branches on the gangs the multipliers leave undecided. A second,
// stronger relaxation (the knapsack bound K, at the end of this file) keeps
// the quota rows as exact knapsacks instead; it bounds the root and the
// nodes and fixes more options.

// lagProb is a component flattened for the Lagrangian: the options of item k
// are start[k] ≤ o < start[k+1], in ascending cost order; res is the
// component-local quota row of an option or -1 when it draws on none that
// binds.
type lagProb struct {
	cost  []float64
	use   []float64
	res   []int
	orig  []int // option index in Problem.Items[..].Options
	start []int
	caps  []float64
	// base is the cost of items fixed before this problem was built; caps
	// already excludes their use.
	base float64
}

func (lp *lagProb) items() int { return len(lp.start) - 1 }

// move switches item k of the choice ch to option o, keeping the per-quota
// usage in step.
func (lp *lagProb) move(ch []int, used []float64, k, o int) {
	if r := lp.res[ch[k]]; r >= 0 {
		used[r] -= lp.use[ch[k]]
	}
	if r := lp.res[o]; r >= 0 {
		used[r] += lp.use[o]
	}
	ch[k] = o
}

// bitset marks options switched off in a node.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) clone() bitset  { return slices.Clone(b) }

// lagWork is scratch space reused across evaluations.
type lagWork struct {
	arg  []int
	g    []float64
	left []float64
	lam  []float64
}

func (lp *lagProb) work() *lagWork {
	return &lagWork{arg: make([]int, lp.items()), g: make([]float64, len(lp.caps)),
		left: make([]float64, len(lp.caps)), lam: make([]float64, len(lp.caps))}
}

// eval computes L(λ) over the options not off, the minimising option of
// each item in w.arg and the subgradient (use − capacity per row) in w.g.
func (lp *lagProb) eval(lam []float64, off bitset, w *lagWork) float64 {
	l := lp.base
	for r, c := range lp.caps {
		w.g[r] = -c
		l -= lam[r] * c
	}
	for k := range lp.items() {
		best, bo := math.Inf(1), -1
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if off.has(o) {
				continue
			}
			v := lp.cost[o]
			if r := lp.res[o]; r >= 0 {
				v += lam[r] * lp.use[o]
			}
			if v < best {
				best, bo = v, o
			}
		}
		w.arg[k] = bo
		l += best
		if r := lp.res[bo]; r >= 0 {
			w.g[r] += lp.use[bo]
		}
	}
	return l
}

// propagate switches off options that no longer fit beside the items left
// with a single option, to a fixed point. It reports false when some item
// has no option left or the single options overflow a row.
func (lp *lagProb) propagate(off bitset, w *lagWork) bool {
	for changed := true; changed; {
		changed = false
		copy(w.left, lp.caps)
		for k := range lp.items() {
			only, n := -1, 0
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if !off.has(o) {
					only, n = o, n+1
				}
			}
			switch {
			case n == 0:
				return false
			case n == 1:
				w.arg[k] = only
				if r := lp.res[only]; r >= 0 {
					w.left[r] -= lp.use[only]
				}
			default:
				w.arg[k] = -1
			}
		}
		for r := range w.left {
			if w.left[r] < -capSlack {
				return false
			}
		}
		for k := range lp.items() {
			if w.arg[k] >= 0 {
				continue
			}
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if r := lp.res[o]; r >= 0 && !off.has(o) && lp.use[o] > w.left[r]+capSlack {
					off.set(o)
					changed = true
				}
			}
		}
	}
	return true
}

// ascent is the outcome of maximising L from a starting λ.
type ascent struct {
	bound float64
	lam   []float64
	arg   []int // the minimising options at lam
	// exact is true when the minimisers at lam are feasible and
	// complementary (λ_r > 0 only on full rows): L(lam) is then the optimum
	// of the node and arg an optimal assignment.
	exact bool
}

// ascend runs projected subgradient ascent with Polyak steps towards
// target (the incumbent, or a guess above L when there is none), keeping
// the best λ seen. It stops after iters evaluations, when L reaches stop,
// or when the projected subgradient vanishes.
func (lp *lagProb) ascend(lam0 []float64, off bitset, iters int, theta, target, stop float64, w *lagWork) (ascent, float64) {
	lam := w.lam
	copy(lam, lam0)
	best := ascent{bound: math.Inf(-1), lam: slices.Clone(lam0), arg: make([]int, lp.items())}
	stall := 0
	for it := 0; it < iters; it++ {
		l := lp.eval(lam, off, w)
		if l > best.bound+1e-12*math.Max(1, math.Abs(l)) {
			best.bound = l
			copy(best.lam, lam)
			copy(best.arg, w.arg)
			stall = 0
		} else if stall++; stall >= 8 {
			theta, stall = theta/2, 0
		}
		// Project: a row at λ = 0 with slack has no direction to go.
		norm := 0.0
		for r, g := range w.g {
			if lam[r] <= 0 && g < 0 {
				w.g[r] = 0
				continue
			}
			norm += g * g
		}
		if norm < 1e-18 {
			if l >= best.bound {
				best.bound = l
				copy(best.lam, lam)
				copy(best.arg, w.arg)
			}
			best.exact = true
			return best, theta
		}
		if best.bound >= stop || theta < 1e-7 {
			break
		}
		t := target
		if math.IsInf(t, 1) {
			t = l + 0.01*math.Abs(l) + 1
		}
		step := theta * math.Max(t-l, 1e-9*math.Max(1, math.Abs(l))) / norm
		for r, g := range w.g {
			lam[r] = math.Max(0, lam[r]+step*g)
		}
	}
	return best, theta
}

// reducedFix switches off the options whose Lagrangian reduced cost lifts
// L(λ) to the incumbent or beyond: no assignment that uses them can be
// cheaper than the incumbent. It returns how many it switched off.
func (lp *lagProb) reducedFix(a *ascent, off bitset, limit float64) int {
	n := 0
	for k := range lp.items() {
		bo := a.arg[k]
		min := lp.cost[bo]
		if r := lp.res[bo]; r >= 0 {
			min += a.lam[r] * lp.use[bo]
		}
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if o == bo || off.has(o) {
				continue
			}
			v := lp.cost[o]
			if r := lp.res[o]; r >= 0 {
				v += a.lam[r] * lp.use[o]
			}
			if a.bound+(v-min) >= limit {
				off.set(o)
				n++
			}
		}
	}
	return n
}

// repair turns the minimisers at λ into a feasible assignment: while a row
// overflows, move the item whose move to another fitting option costs the
// least in reduced cost per unit freed; then move items to cheaper options
// that fit (1-opt). It returns the choice per item (option indexes) and its
// cost, or nil when it gets stuck.
func (lp *lagProb) repair(arg []int, lam []float64, off bitset) ([]int, float64) {
	ch := slices.Clone(arg)
	used := make([]float64, len(lp.caps))
	for _, o := range ch {
		if r := lp.res[o]; r >= 0 {
			used[r] += lp.use[o]
		}
	}
	red := func(o int) float64 {
		v := lp.cost[o]
		if r := lp.res[o]; r >= 0 {
			v += lam[r] * lp.use[o]
		}
		return v
	}
	fits := func(o, from int) bool {
		r := lp.res[o]
		if r < 0 {
			return true
		}
		extra := lp.use[o]
		if lp.res[from] == r {
			extra -= lp.use[from]
		}
		return used[r]+extra <= lp.caps[r]+capSlack
	}
	move := func(k, o int) { lp.move(ch, used, k, o) }
	for {
		over := -1
		for r := range used {
			if used[r] > lp.caps[r]+capSlack && (over < 0 || used[r]-lp.caps[r] > used[over]-lp.caps[over]) {
				over = r
			}
		}
		if over < 0 {
			break
		}
		bk, bo, bestRate := -1, -1, math.Inf(1)
		for k, cur := range ch {
			if lp.res[cur] != over {
				continue
			}
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if o == cur || off.has(o) || (lp.res[o] == over && lp.use[o] >= lp.use[cur]) || !fits(o, cur) {
					continue
				}
				freed := lp.use[cur]
				if lp.res[o] == over {
					freed -= lp.use[o]
				}
				if rate := (red(o) - red(cur)) / freed; rate < bestRate {
					bk, bo, bestRate = k, o, rate
				}
			}
		}
		if bk < 0 {
			return nil, 0
		}
		move(bk, bo)
	}
	// 1-opt: options are in ascending cost, so the first that fits is the
	// cheapest move.
	for moved := true; moved; {
		moved = false
		for k, cur := range ch {
			for o := lp.start[k]; o < lp.start[k+1] && lp.cost[o] < lp.cost[cur]; o++ {
				if !off.has(o) && fits(o, cur) {
					move(k, o)
					moved = true
					break
				}
			}
		}
	}
	cost := lp.base
	for _, o := range ch {
		cost += lp.cost[o]
	}
	return ch, cost
}

// lagNode is a branch-and-bound node: the options it switched off, the
// multipliers it inherits and its parent's bound.
type lagNode struct {
	off   bitset
	lam   []float64
	mu    []float64 // knapsack multipliers, nil when that bound is not used
	bound float64
	depth int
	seq   int
}

type lagHeap []*lagNode

func (h lagHeap) Len() int { return len(h) }
func (h lagHeap) Less(a, b int) bool {
	return cmp.Or(cmp.Compare(h[a].bound, h[b].bound), cmp.Compare(h[b].depth, h[a].depth), cmp.Compare(h[a].seq, h[b].seq)) < 0
}
func (h lagHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *lagHeap) Push(x any)   { *h = append(*h, x.(*lagNode)) }
func (h *lagHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	return n
}

// Iteration budgets of the subgradient ascent: generous at the root, where
// the multipliers found are inherited by every node, and short at the nodes,
// which start from their parent's multipliers.
const (
	rootIters = 3000
	nodeIters = 40
)

// lagView maps a lagProb back to its component: items[k] is the component
// item of the problem's item k, and fixed holds the choices (option indexes
// into Problem.Items) of the component items decided before it was built.
type lagView struct {
	lp    *lagProb
	items []int
	fixed []int
}

// flatten builds the Lagrangian problem of the whole component.
func (c *comp) flatten() *lagView {
	p := c.s.p
	lp := &lagProb{caps: slices.Clone(c.caps)}
	v := &lagView{lp: lp, items: make([]int, len(c.items)), fixed: make([]int, len(c.items))}
	for k, i := range c.items {
		v.items[k], v.fixed[k] = k, -1
		lp.start = append(lp.start, len(lp.cost))
		for _, j := range c.s.opts[i] {
			o := p.Items[i].Options[j]
			r := -1
			if !c.s.free(o) {
				r = c.res[o.Resource]
			}
			lp.cost = append(lp.cost, o.Cost)
			lp.use = append(lp.use, o.Use)
			lp.res = append(lp.res, r)
			lp.orig = append(lp.orig, j)
		}
	}
	lp.start = append(lp.start, len(lp.cost))
	return v
}

// compact builds the residual problem: items left with one option are
// fixed (their cost goes to base and their use leaves the capacities),
// the others keep the options that are not off.
func (v *lagView) compact(off bitset) *lagView {
	lp := v.lp
	rp := &lagProb{caps: slices.Clone(lp.caps), base: lp.base}
	nv := &lagView{lp: rp, fixed: slices.Clone(v.fixed)}
	for k := range lp.items() {
		var on []int
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if !off.has(o) {
				on = append(on, o)
			}
		}
		if len(on) == 1 {
			o := on[0]
			nv.fixed[v.items[k]] = lp.orig[o]
			rp.base += lp.cost[o]
			if r := lp.res[o]; r >= 0 {
				rp.caps[r] -= lp.use[o]
			}
			continue
		}
		nv.items = append(nv.items, v.items[k])
		rp.start = append(rp.start, len(rp.cost))
		for _, o := range on {
			rp.cost = append(rp.cost, lp.cost[o])
			rp.use = append(rp.use, lp.use[o])
			rp.res = append(rp.res, lp.res[o])
			rp.orig = append(rp.orig, lp.orig[o])
		}
	}
	rp.start = append(rp.start, len(rp.cost))
	return nv
}

// offerLag records a choice of the view's problem as the incumbent when it
// is cheaper.
func (c *comp) offerLag(v *lagView, ch []int, cost float64, off bitset) {
	if ch == nil || cost >= c.incCost-relGap*math.Max(1, math.Abs(cost)) {
		return
	}
	cost = v.lp.polish(ch, off)
	full := slices.Clone(v.fixed)
	for k, o := range ch {
		full[v.items[k]] = v.lp.orig[o]
	}
	c.inc, c.incCost = full, cost
}

// cutoff is the bound at or above which a node cannot improve the incumbent
// by more than the relative tolerance.
func (c *comp) cutoff() float64 {
	if math.IsInf(c.incCost, 1) {
		return c.incCost
	}
	return c.incCost - relGap*math.Max(1, math.Abs(c.incCost))
}

// lagrangian solves the component: root ascent with heuristics, reduced-cost
// fixing, then best-bound branch-and-bound over the residual.
func (c *comp) lagrangian() compResult {
	v := c.flatten()
	lp := v.lp
	w := lp.work()
	off := newBitset(len(lp.cost))
	if !lp.propagate(off, w) {
		return compResult{status: StatusInfeasible}
	}
	lam := make([]float64, len(lp.caps))
	lp.eval(lam, off, w)
	ch, cost := lp.repair(w.arg, lam, off)
	c.offerLag(v, ch, cost, off)
	theta := 2.0
	var a ascent
	for done := 0; done < rootIters; done += 100 {
		a, theta = lp.ascend(lam, off, 100, theta, c.incCost, c.cutoff(), w)
		ch, cost := lp.repair(a.arg, a.lam, off)
		c.offerLag(v, ch, cost, off)
		lam = a.lam
		if a.exact || a.bound >= c.cutoff() || theta < 1e-7 || c.s.out() {
			break
		}
	}
	c.s.nodes++
	if a.bound >= c.cutoff() {
		return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
	}
	lp.reducedFix(&a, off, c.cutoff())
	if !lp.propagate(off, w) {
		// Nothing cheaper than the incumbent exists.
		if c.inc == nil {
			return compResult{status: StatusInfeasible}
		}
		return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
	}
	rv := v.compact(off)
	if ch := c.residualChoice(rv); ch != nil {
		cost := c.lns(rv, ch, c.incCost, a.lam, a.bound, lnsRounds)
		c.offerLag(rv, ch, cost, newBitset(len(rv.lp.cost)))
		// A better incumbent fixes more options.
		lp.reducedFix(&a, off, c.cutoff())
		if !lp.propagate(off, w) {
			return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
		}
		rv = v.compact(off)
	}
	c.s.residual = max(c.s.residual, rv.lp.items())
	// The knapsack bound of the residual: it bounds every assignment
	// cheaper than the incumbent, which is all the search still needs.
	bound := a.bound
	var rmu []float64
	if c.inc != nil && !c.closeEnough(c.incCost, bound) {
		stop := c.cutoff()
		if c.s.lim.Gap > 0 {
			stop = math.Min(stop, c.incCost-c.allow)
		}
		roff := newBitset(len(rv.lp.cost))
		k, mu := c.knapBound(rv.lp, roff, a.lam, stop)
		if k >= c.cutoff() {
			return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
		}
		rmu = mu
		if mu != nil && rv.lp.knapFix(mu, roff, k, c.cutoff()) > 0 {
			if !rv.lp.propagate(roff, rv.lp.work()) {
				return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
			}
			nv := rv.compact(roff)
			// Carry μ over to the gangs that stay open.
			at := make(map[int]int, len(rv.items))
			for x, ci := range rv.items {
				at[ci] = x
			}
			rmu = make([]float64, len(nv.items))
			for x, ci := range nv.items {
				rmu[x] = mu[at[ci]]
			}
			rv = nv
			c.s.residual = max(c.s.residual, rv.lp.items())
		}
		bound = math.Max(bound, k)
	}
	return c.lagSearch(rv, a.lam, bound, rmu)
}

// closeEnough reports whether an incumbent of this cost, with this lower
// bound, meets the component's share of the requested gap (Limits.Gap).
func (c *comp) closeEnough(cost, bound float64) bool {
	return c.s.lim.Gap > 0 && cost-math.Min(bound, cost) <= c.allow
}

// lnsRounds bounds the neighbourhoods lns searches at the root.
const lnsRounds = 200

// residualChoice expresses the incumbent in the residual view's flat option
// indexes, or returns nil when the residual no longer holds it (reduced-cost
// fixing may drop an option of an incumbent that is within the tolerance of
// the bound).
func (c *comp) residualChoice(v *lagView) []int {
	if c.inc == nil {
		return nil
	}
	for k, j := range v.fixed {
		if j >= 0 && c.inc[k] != j {
			return nil
		}
	}
	ch := make([]int, v.lp.items())
	for k, ci := range v.items {
		ch[k] = -1
		for o := v.lp.start[k]; o < v.lp.start[k+1]; o++ {
			if v.lp.orig[o] == c.inc[ci] {
				ch[k] = o
			}
		}
		if ch[k] < 0 {
			return nil
		}
	}
	return ch
}

// lagSearch is best-bound branch-and-bound over a residual problem whose
// root bound and multipliers are known.
func (c *comp) lagSearch(v *lagView, lam []float64, rootBound float64, mu []float64) compResult {
	lp := v.lp
	w := lp.work()
	open := &lagHeap{}
	seq := 0
	heap.Push(open, &lagNode{off: newBitset(len(lp.cost)), lam: lam, mu: mu, bound: rootBound})
	push := func(n *lagNode, off bitset, lam, mu []float64, bound float64) {
		seq++
		heap.Push(open, &lagNode{off: off, lam: lam, mu: mu, bound: bound, depth: n.depth + 1, seq: seq})
	}
	process := func(n *lagNode) {
		c.s.nodes++
		off := n.off
		if lp.items() == 0 {
			c.offerLag(v, []int{}, lp.base, off)
			return
		}
		if !lp.propagate(off, w) {
			return
		}
		a, _ := lp.ascend(n.lam, off, nodeIters, 1, c.incCost, c.cutoff(), w)
		if a.bound >= c.cutoff() || n.bound >= c.cutoff() {
			return
		}
		ch, cost := lp.repair(a.arg, a.lam, off)
		c.offerLag(v, ch, cost, off)
		if a.bound >= c.cutoff() {
			return
		}
		if lp.reducedFix(&a, off, c.cutoff()) > 0 {
			if !lp.propagate(off, w) {
				return
			}
			a.bound = lp.eval(a.lam, off, w)
			copy(a.arg, w.arg)
			if a.bound >= c.cutoff() {
				return
			}
		} else {
			// w.g must describe a.arg for the branching rule.
			lp.eval(a.lam, off, w)
		}
		bound := math.Max(a.bound, n.bound)
		mu := n.mu
		if mu != nil {
			var kb float64
			kb, mu = c.knapAscend(lp, off, n.mu, nodeKnapIters, c.cutoff())
			if bound = math.Max(bound, kb); bound >= c.cutoff() {
				return
			}
		}
		// Branch on the open item whose choice is least clear-cut (the
		// smallest reduced-cost regret), preferring items whose minimiser
		// sits on a row that is full or priced.
		bk, bestKey := -1, [2]float64{}
		for k := range lp.items() {
			bo := a.arg[k]
			min, second := math.Inf(1), math.Inf(1)
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if off.has(o) {
					continue
				}
				val := lp.cost[o]
				if r := lp.res[o]; r >= 0 {
					val += a.lam[r] * lp.use[o]
				}
				if val < min {
					min, second = val, min
				} else if val < second {
					second = val
				}
			}
			if math.IsInf(second, 1) {
				continue
			}
			tight := 1.0
			if r := lp.res[bo]; r >= 0 && (a.lam[r] > 0 || w.g[r] > 0) {
				tight = 0
			}
			key := [2]float64{tight, second - min}
			if bk < 0 || key[0] < bestKey[0] || (key[0] == bestKey[0] && key[1] < bestKey[1]) {
				bk, bestKey = k, key
			}
		}
		if bk < 0 {
			// Every item is decided and propagation kept it feasible.
			cost := lp.base
			for _, o := range a.arg {
				cost += lp.cost[o]
			}
			c.offerLag(v, slices.Clone(a.arg), cost, off)
			return
		}
		bo := a.arg[bk]
		fix := off.clone()
		for o := lp.start[bk]; o < lp.start[bk+1]; o++ {
			if o != bo {
				fix.set(o)
			}
		}
		forbid := off
		forbid.set(bo)
		push(n, fix, a.lam, mu, bound)
		push(n, forbid, slices.Clone(a.lam), mu, bound)
	}
	for open.Len() > 0 {
		if c.s.nodes > 1 && c.s.out() {
			break
		}
		if c.inc != nil && c.closeEnough(c.incCost, (*open)[0].bound) {
			break
		}
		n := heap.Pop(open).(*lagNode)
		if n.bound >= c.cutoff() {
			continue
		}
		process(n)
	}
	switch {
	case open.Len() == 0 && c.inc == nil:
		return compResult{status: StatusInfeasible}
	case open.Len() == 0:
		return compResult{status: StatusOptimal, choice: c.inc, bound: c.incCost}
	}
	lower := (*open)[0].bound
	if c.inc == nil {
		return compResult{status: StatusUnknown, bound: lower}
	}
	return compResult{status: StatusFeasible, choice: c.inc, bound: math.Min(lower, c.incCost)}
}

// polish improves a feasible choice by pair moves: an item takes a cheaper
// option on a full row while another item leaves that row for an option
// that fits, when the two together cost less. Single moves (1-opt) are
// tried first. It returns the new cost.
func (lp *lagProb) polish(ch []int, off bitset) float64 {
	used := make([]float64, len(lp.caps))
	for _, o := range ch {
		if r := lp.res[o]; r >= 0 {
			used[r] += lp.use[o]
		}
	}
	// fits2 reports whether moving item k1 to o1 and item k2 to o2 keeps
	// the rows they move into within capacity.
	fits2 := func(k1, o1, k2, o2 int) bool {
		moves := [4]struct {
			o    int
			sign float64
		}{{ch[k1], -1}, {ch[k2], -1}, {o1, 1}, {o2, 1}}
		for _, to := range []int{o1, o2} {
			r := lp.res[to]
			if r < 0 {
				continue
			}
			d := 0.0
			for _, m := range moves {
				if lp.res[m.o] == r {
					d += m.sign * lp.use[m.o]
				}
			}
			if used[r]+d > lp.caps[r]+capSlack {
				return false
			}
		}
		return true
	}
	move := func(k, o int) { lp.move(ch, used, k, o) }
	single := func(k, o int) bool {
		cur := ch[k]
		if r := lp.res[cur]; r >= 0 {
			used[r] -= lp.use[cur]
		}
		if r := lp.res[o]; r < 0 || used[r]+lp.use[o] <= lp.caps[r]+capSlack {
			if r >= 0 {
				used[r] += lp.use[o]
			}
			ch[k] = o
			return true
		}
		if r := lp.res[cur]; r >= 0 {
			used[r] += lp.use[cur]
		}
		return false
	}
	for pass := 0; pass < 50; pass++ {
		moved := false
		for k := range ch {
			for o := lp.start[k]; o < lp.start[k+1] && lp.cost[o] < lp.cost[ch[k]]; o++ {
				if !off.has(o) && single(k, o) {
					moved = true
					break
				}
			}
		}
		for k2 := range ch {
			for o2 := lp.start[k2]; o2 < lp.start[k2+1] && lp.cost[o2] < lp.cost[ch[k2]]; o2++ {
				r := lp.res[o2]
				if off.has(o2) || r < 0 {
					continue
				}
				// The partner that leaves row r (or shrinks there) at the
				// least extra cost and fits, if the pair gains overall.
				gain := lp.cost[ch[k2]] - lp.cost[o2]
				bk, bo, best := -1, -1, gain-relGap*math.Max(1, gain)
				for k1, c1 := range ch {
					if k1 == k2 || lp.res[c1] != r {
						continue
					}
					for o1 := lp.start[k1]; o1 < lp.start[k1+1]; o1++ {
						if o1 == c1 || off.has(o1) || (lp.res[o1] == r && lp.use[o1] >= lp.use[c1]) {
							continue
						}
						if d := lp.cost[o1] - lp.cost[c1]; d < best && fits2(k1, o1, k2, o2) {
							bk, bo, best = k1, o1, d
						}
					}
				}
				if bk >= 0 {
					move(bk, bo)
					move(k2, o2)
					moved = true
					break
				}
			}
		}
		if !moved {
			break
		}
	}
	cost := lp.base
	for _, o := range ch {
		cost += lp.cost[o]
	}
	return cost
}

// lnsNodes bounds each neighbourhood search of lns.
const lnsNodes = 150

// lns is a large-neighbourhood search around the incumbent: for each quota
// row (those with the highest multipliers first), and then pairs of them,
// it frees the items that sit on the rows or could move there more cheaply,
// keeps every other item where it is, and solves that sub-problem with the
// same branch-and-bound under a node limit. It works on the residual view
// v, whose incumbent choice ch (flat option indexes) it improves in place,
// and returns the new cost. bound is the component's lower bound: it stops
// once the incumbent meets the requested gap.
func (c *comp) lns(v *lagView, ch []int, cost float64, lam []float64, bound float64, rounds int) float64 {
	lp := v.lp
	rows := make([]int, len(lp.caps))
	for r := range rows {
		rows[r] = r
	}
	slices.SortStableFunc(rows, func(a, b int) int { return cmp.Compare(lam[b], lam[a]) })
	var sets [][]int
	for _, r := range rows {
		sets = append(sets, []int{r})
	}
	for x, r := range rows {
		for _, q := range rows[x+1:] {
			sets = append(sets, []int{r, q})
		}
	}
	isFree := make([]bool, len(ch))
	for n, set := range sets {
		if n >= rounds || c.s.out() || c.closeEnough(cost, bound) {
			break
		}
		in := func(o int) bool { return lp.res[o] >= 0 && slices.Contains(set, lp.res[o]) }
		var free []int
		for k, cur := range ch {
			isFree[k] = false
			if in(cur) {
				free = append(free, k)
				isFree[k] = true
				continue
			}
			for o := lp.start[k]; o < lp.start[k+1] && lp.cost[o] < lp.cost[cur]; o++ {
				if in(o) {
					free = append(free, k)
					isFree[k] = true
					break
				}
			}
		}
		if len(free) < 2 {
			continue
		}
		// The sub-problem: the free items with all their options, the
		// others fixed where they are (their cost in base, their use out
		// of the capacities). Its options map back by flat index (orig).
		sub := &lagProb{caps: slices.Clone(lp.caps), base: lp.base}
		for k, o := range ch {
			if !isFree[k] {
				sub.base += lp.cost[o]
				if r := lp.res[o]; r >= 0 {
					sub.caps[r] -= lp.use[o]
				}
			}
		}
		subInc := make([]int, len(free))
		for x, k := range free {
			sub.start = append(sub.start, len(sub.cost))
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if o == ch[k] {
					subInc[x] = o
				}
				sub.cost = append(sub.cost, lp.cost[o])
				sub.use = append(sub.use, lp.use[o])
				sub.res = append(sub.res, lp.res[o])
				sub.orig = append(sub.orig, o)
			}
		}
		sub.start = append(sub.start, len(sub.cost))
		sv := &lagView{lp: sub, items: make([]int, len(free)), fixed: make([]int, len(free))}
		for x := range free {
			sv.items[x], sv.fixed[x] = x, -1
		}
		ss := &solver{ctx: c.s.ctx, p: c.s.p, lim: Limits{Nodes: lnsNodes}, deadline: c.s.deadline}
		sc := &comp{s: ss, inc: subInc, incCost: cost}
		sc.lagSearch(sv, slices.Clone(lam), math.Inf(-1), nil)
		c.s.nodes += ss.nodes
		if sc.incCost < cost {
			for x, k := range free {
				ch[k] = sc.inc[x]
			}
			cost = sc.incCost
		}
	}
	return cost
}

// The knapsack bound.
//
// Relaxing instead the assignment rows Σ_j x_ij = 1 with free multipliers
// μ_i leaves one multiple-choice knapsack per quota row (each gang takes at
// most one of its options on the row, whose GPUs must fit) plus, per gang,
// its best free option if that pays:
//
//	K(μ) = Σ_i μ_i + Σ_i min(0, min_{j free} c_ij − μ_i)
//	       + Σ_k min { Σ_{(i,j) ∈ k} (c_ij − μ_i) x_ij : Σ a_ij x_ij ≤ Q_k, ≤ 1 option per gang }
//
// Every assignment is feasible for that relaxation and pays no penalty, so
// K(μ) ≤ the optimum for every μ. The knapsacks are solved exactly by
// dynamic programming over whole GPUs, so K is at least as strong as the LP
// bound (starting from μ_i = the gang's minimum at the λ of the first
// relaxation, K(μ) ≥ L(λ)) and sees the integrality of the quotas, which the
// LP bound does not: on the benchmark it closes most of the LP's gap.

// knapWorkCap bounds the dynamic programme's work per evaluation (options ×
// GPUs of capacity); larger problems skip the knapsack bound.
const knapWorkCap = 20_000_000

// knapIters bounds the subgradient steps on μ at the root, nodeKnapIters
// at each node, which starts from its parent's μ.
const (
	knapIters     = 60
	nodeKnapIters = 4
)

// knapUsable reports whether the knapsack bound applies: every use is a
// whole number of GPUs and the programme is small enough.
func (lp *lagProb) knapUsable() bool {
	work := 0.0
	for o, r := range lp.res {
		if r < 0 {
			continue
		}
		if u := lp.use[o]; u != math.Trunc(u) || u < 0 {
			return false
		}
		work += math.Max(lp.caps[r], 0)
	}
	return work <= knapWorkCap
}

// knapEval evaluates K(μ) over the options not off and stores its
// subgradient 1 − Σ_j x_ij in g.
func (lp *lagProb) knapEval(mu []float64, off bitset, g []float64) float64 {
	l := lp.base
	for k := range lp.items() {
		l += mu[k]
		g[k] = 1
		best, bo := 0.0, -1
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if off.has(o) || lp.res[o] >= 0 {
				continue
			}
			if v := lp.cost[o] - mu[k]; v < best {
				best, bo = v, o
			}
		}
		if bo >= 0 {
			l += best
			g[k]--
		}
	}
	type group struct{ k, from, to int } // options[from:to] of gang k
	var opts []int
	var groups []group
	for r, capacity := range lp.caps {
		q := int(math.Floor(capacity + capSlack))
		if q < 0 {
			return math.Inf(1) // the fixed gangs overflow: nothing is feasible
		}
		// Only options with a negative reduced cost can lower the minimum.
		opts, groups = opts[:0], groups[:0]
		for k := range lp.items() {
			from := len(opts)
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if !off.has(o) && lp.res[o] == r && lp.cost[o]-mu[k] < 0 {
					opts = append(opts, o)
				}
			}
			if len(opts) > from {
				groups = append(groups, group{k, from, len(opts)})
			}
		}
		if len(groups) == 0 {
			continue
		}
		// dp[c] is the least reduced cost within c GPUs; choice[gi][c]
		// the option group gi took there (-1: none), for the subgradient.
		dp := make([]float64, q+1)
		next := make([]float64, q+1)
		choice := make([][]int32, len(groups))
		for gi, gr := range groups {
			copy(next, dp)
			ch := make([]int32, q+1)
			for c := range ch {
				ch[c] = -1
			}
			for x := gr.from; x < gr.to; x++ {
				o := opts[x]
				a := int(lp.use[o])
				v := lp.cost[o] - mu[gr.k]
				for c := a; c <= q; c++ {
					if t := dp[c-a] + v; t < next[c] {
						next[c] = t
						ch[c] = int32(x)
					}
				}
			}
			dp, next = next, dp
			choice[gi] = ch
		}
		l += dp[q]
		for gi, c := len(groups)-1, q; gi >= 0; gi-- {
			if x := choice[gi][c]; x >= 0 {
				g[groups[gi].k]--
				c -= int(lp.use[opts[x]])
			}
		}
	}
	return l
}

// knapBound maximises K(μ) by subgradient steps from the minima at λ, for
// at most knapIters evaluations, stopping early once the bound reaches
// stop. It returns the best K found, shaved by a relative 1e-10 for float
// safety, or -Inf when the bound does not apply.
func (c *comp) knapBound(lp *lagProb, off bitset, lam []float64, stop float64) (float64, []float64) {
	if !lp.knapUsable() {
		return math.Inf(-1), nil
	}
	mu := make([]float64, lp.items())
	for k := range mu {
		mu[k] = math.Inf(1)
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if off.has(o) {
				continue
			}
			v := lp.cost[o]
			if r := lp.res[o]; r >= 0 {
				v += lam[r] * lp.use[o]
			}
			mu[k] = math.Min(mu[k], v)
		}
	}
	return c.knapAscend(lp, off, mu, knapIters, stop)
}

// knapAscend raises K(μ) by subgradient steps from mu0 towards the
// incumbent, for at most iters evaluations or until it reaches stop, and
// returns the best K (shaved by a relative 1e-10 for float safety) and its μ.
func (c *comp) knapAscend(lp *lagProb, off bitset, mu0 []float64, iters int, stop float64) (float64, []float64) {
	mu := slices.Clone(mu0)
	g := make([]float64, lp.items())
	best, theta, stall := math.Inf(-1), 1.0, 0
	bestMu := slices.Clone(mu)
	for it := 0; it < iters && !c.s.out(); it++ {
		l := lp.knapEval(mu, off, g)
		if l > best+1e-12*math.Max(1, math.Abs(l)) {
			best, stall = l, 0
			copy(bestMu, mu)
		} else if stall++; stall >= 5 {
			theta, stall = theta/2, 0
		}
		norm := 0.0
		for _, x := range g {
			norm += x * x
		}
		if norm == 0 || best >= stop {
			break // the relaxation's answer is an assignment, or enough
		}
		target := c.incCost
		if math.IsInf(target, 1) {
			target = l + 0.01*math.Abs(l) + 1
		}
		step := theta * math.Max(target-l, 1e-9*math.Max(1, math.Abs(l))) / norm
		for k := range mu {
			mu[k] += step * g[k]
		}
	}
	return best - 1e-10*math.Max(1, math.Abs(best)), bestMu
}

// knapFix switches off the options that cannot be in an assignment cheaper
// than limit by the knapsack bound: forcing option o of gang k changes only
// o's own block in K(μ) (its quota row, or the gang's free options), and the
// row's value with o forced is (c_o − μ_k) plus the best of the row's other
// gangs within Q − a_o, combined from forward and backward programmes. An
// assignment that uses o is feasible for that forced relaxation, so it costs
// at least the forced K. It returns how many options it switched off.
func (lp *lagProb) knapFix(mu []float64, off bitset, k0 float64, limit float64) int {
	shave := 1e-10 * math.Max(1, math.Abs(k0))
	n := 0
	// Free blocks.
	for k := range lp.items() {
		free := 0.0
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if !off.has(o) && lp.res[o] < 0 {
				free = math.Min(free, lp.cost[o]-mu[k])
			}
		}
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if !off.has(o) && lp.res[o] < 0 && k0-free+(lp.cost[o]-mu[k])-shave >= limit {
				off.set(o)
				n++
			}
		}
	}
	for r, capacity := range lp.caps {
		q := int(math.Floor(capacity + capSlack))
		if q < 0 {
			continue
		}
		type group struct{ k, from, to int }
		var opts []int
		var groups []group
		pos := make(map[int]int) // gang → group index
		for k := range lp.items() {
			from := len(opts)
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if !off.has(o) && lp.res[o] == r && lp.cost[o]-mu[k] < 0 {
					opts = append(opts, o)
				}
			}
			if len(opts) > from {
				pos[k] = len(groups)
				groups = append(groups, group{k, from, len(opts)})
			}
		}
		m := len(groups)
		// fw[p][c]: best of groups < p within c; bw[p][c]: of groups ≥ p.
		layer := func(prev []float64, gr group) []float64 {
			next := slices.Clone(prev)
			for x := gr.from; x < gr.to; x++ {
				o := opts[x]
				a := int(lp.use[o])
				v := lp.cost[o] - mu[gr.k]
				for c := a; c <= q; c++ {
					next[c] = math.Min(next[c], prev[c-a]+v)
				}
			}
			return next
		}
		fw := make([][]float64, m+1)
		bw := make([][]float64, m+1)
		fw[0], bw[m] = make([]float64, q+1), make([]float64, q+1)
		for p := range m {
			fw[p+1] = layer(fw[p], groups[p])
		}
		for p := m - 1; p >= 0; p-- {
			bw[p] = layer(bw[p+1], groups[p])
		}
		row := fw[m][q]
		for k := range lp.items() {
			before, after := fw[m], bw[m] // gang k not in the row: all others, and nothing
			if p, ok := pos[k]; ok {
				before, after = fw[p], bw[p+1]
			}
			for o := lp.start[k]; o < lp.start[k+1]; o++ {
				if off.has(o) || lp.res[o] != r {
					continue
				}
				a := int(lp.use[o])
				if a > q {
					off.set(o)
					n++
					continue
				}
				rest := math.Inf(1)
				for c := 0; c <= q-a; c++ {
					rest = math.Min(rest, before[c]+after[q-a-c])
				}
				if k0-row+(lp.cost[o]-mu[k])+rest-shave >= limit {
					off.set(o)
					n++
				}
			}
		}
	}
	return n
}
