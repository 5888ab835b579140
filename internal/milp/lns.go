package milp

import (
	"cmp"
	"math"
	"slices"
)

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
		ss := newSolver(c.s.ctx, c.s.p, Limits{Nodes: lnsNodes}, c.s.deadline)
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
