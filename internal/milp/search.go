package milp

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
)

// Best-bound branch-and-bound over one component: lagrangian solves the
// root (ascent, heuristics, reduced-cost and knapsack fixing) and hands the
// residual to lagSearch, which branches on it, a node at a time from the
// least bound.

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
				val := lp.reduced(o, a.lam)
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
