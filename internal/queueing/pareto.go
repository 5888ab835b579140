package queueing

import "math"

// Front is the Pareto front of points already sorted by ascending cost:
// walking them in order, it keeps a point only if its latency is strictly
// below that of every cheaper point, so that no point of the front is both
// dearer and no faster than another. Ties in cost are decided by the
// caller's order. The result is never nil, so that it encodes as [] in JSON.
func Front[P any](byCost []P, latency func(*P) float64) []P {
	front := []P{}
	best := math.Inf(1)
	for i := range byCost {
		if l := latency(&byCost[i]); l < best {
			front = append(front, byCost[i])
			best = l
		}
	}
	return front
}
