package milp

import (
	"math"
	"slices"
)

// The Lagrangian bound of one component, which the branch-and-bound of
// search.go maximises at the root and at every node.
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
// stronger relaxation (the knapsack bound K, knapsack.go) keeps
// the quota rows as exact knapsacks instead; it bounds the root and the
// nodes and fixes more options.

// reduced is the Lagrangian reduced cost of option o at multipliers lam,
// c_o + λ_r(o) · a_o: what the option costs once its quota row is priced.
// The bound, reduced-cost fixing, repair, branching and the knapsack bound's
// starting μ all use this one definition, so that they agree to the bit.
func (lp *lagProb) reduced(o int, lam []float64) float64 {
	v := lp.cost[o]
	if r := lp.res[o]; r >= 0 {
		v += lam[r] * lp.use[o]
	}
	return v
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
			if v := lp.reduced(o, lam); v < best {
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
		min := lp.reduced(bo, a.lam)
		for o := lp.start[k]; o < lp.start[k+1]; o++ {
			if o == bo || off.has(o) {
				continue
			}
			if a.bound+(lp.reduced(o, a.lam)-min) >= limit {
				off.set(o)
				n++
			}
		}
	}
	return n
}

// Iteration budgets of the subgradient ascent: generous at the root, where
// the multipliers found are inherited by every node, and short at the nodes,
// which start from their parent's multipliers.
const (
	rootIters = 3000
	nodeIters = 40
)
