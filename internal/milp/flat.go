package milp

import "slices"

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
