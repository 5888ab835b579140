package milp

import (
	"math"
	"slices"
)

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
				if rate := (lp.reduced(o, lam) - lp.reduced(cur, lam)) / freed; rate < bestRate {
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
