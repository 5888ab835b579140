package queueing

import "math"

// warmStartSigmas is how many standard deviations (√a) below the offered
// load a the Erlang B recursion starts. Each step of the recursion below a
// multiplies an error in its start value by k/a < 1, and over the last
// m·√a steps these factors multiply to about e^{−m²/2}; at m = 10 that is
// e^{−50} ≈ 2·10⁻²², far below float64 rounding, so a start from the fluid
// approximation B ≈ 1 − k/a is as good as the full recursion from k = 0.
const warmStartSigmas = 10

// erlangB is the Erlang B blocking probability B(c, a) by the recursion
// B(k) = a·B(k−1)/(k + a·B(k−1)), which only divides numbers in [0, 1] and
// so neither overflows nor cancels. For a large offered load it starts at
// k₀ = a − 10√a (see warmStartSigmas) rather than at 0, so it costs
// O(√a + c − a) steps instead of O(c): milliseconds for any a below
// MaxReplicas.
func erlangB(c int, a float64) float64 {
	k0 := 0
	b := 1.0
	if a > warmStartSigmas*warmStartSigmas {
		k0 = int(a - warmStartSigmas*math.Sqrt(a))
		k0 = min(k0, c)
		b = (a - float64(k0)) / a
	}
	for k := k0 + 1; k <= c && b > 0; k++ {
		// Far above the load b underflows to 0 and stays there: stop.
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// erlangCFromB turns B(c, a) into C(c, a) = c·B / (c − a·(1 − B)).
func erlangCFromB(c int, a, b float64) float64 {
	if a >= float64(c) {
		return 1
	}
	return float64(c) * b / (float64(c) - a*(1-b))
}

// ErlangC is the probability that a request waits in an M/M/c queue with
// offered load a = λ/μ, computed through the Erlang B recursion (stable
// for any number of servers, and started near a for a large load). It is
// 1 when a ≥ c.
func ErlangC(c int, a float64) float64 {
	if a >= float64(c) {
		return 1
	}
	return erlangCFromB(c, a, erlangB(c, a))
}
