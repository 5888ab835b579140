package placement

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkSolve times the solver alone on the benchmark's instance shape,
// under a node limit so that every run does the same search whatever the
// machine: the nodes metric must not move when the solver is refactored.
func BenchmarkSolve(b *testing.B) {
	cases := []struct {
		items, offers, nodes int
		gap                  float64
	}{
		{100, 400, 0, 0},
		{500, 2000, 0, 1e-3},
		{500, 2000, 3000, 0},
	}
	for _, tc := range cases {
		p := randomProblem(1000, tc.items, tc.offers)
		name := fmt.Sprintf("%dx%d/gap=%g/nodes=%d", tc.items, tc.offers, tc.gap, tc.nodes)
		b.Run(name, func(b *testing.B) {
			var s *Solution
			for b.Loop() {
				s = Solve(context.Background(), p, Limits{Nodes: tc.nodes, Gap: tc.gap})
			}
			b.ReportMetric(float64(s.Nodes), "nodes")
		})
	}
}
