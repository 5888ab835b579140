package milp

import (
	"math"
	"slices"
)

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

// group is the options opts[from:to] of gang k on one quota row, as
// rowGroups collects them for the row's knapsack programme.
type group struct{ k, from, to int }

// rowGroups appends to opts, gang by gang, the options on row r that are
// not off and have a negative reduced cost c_o − μ_k (only those can lower
// the row's minimum), and to groups where each gang's run starts and ends.
// knapEval and knapFix build their programmes over the same groups.
func (lp *lagProb) rowGroups(r int, mu []float64, off bitset, opts []int, groups []group) ([]int, []group) {
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
	return opts, groups
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
	var opts []int
	var groups []group
	for r, capacity := range lp.caps {
		q := int(math.Floor(capacity + capSlack))
		if q < 0 {
			return math.Inf(1) // the fixed gangs overflow: nothing is feasible
		}
		opts, groups = lp.rowGroups(r, mu, off, opts[:0], groups[:0])
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
			mu[k] = math.Min(mu[k], lp.reduced(o, lam))
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
		opts, groups := lp.rowGroups(r, mu, off, nil, nil)
		pos := make(map[int]int, len(groups)) // gang → group index
		for gi, gr := range groups {
			pos[gr.k] = gi
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
