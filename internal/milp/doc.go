// Package milp is an exact solver for one family of integer programs: the
// multiple-choice knapsack with shared capacities. It knows nothing of
// workloads, offers or Kubernetes; internal/placement/batch turns a batch of
// gangs into a Problem (an item per gang, an option per feasible offer and
// capacity type, a resource per quota key, uses in GPUs) and maps the
// Solution back. The comments speak of gangs, quotas and GPUs where that is
// the clearest reading of item, resource and use.
//
// # The problem
//
// Every item takes exactly one of its options; each option costs something
// and draws on at most one resource, whose capacity bounds the total drawn:
//
//	minimise   Σ_i Σ_j c_ij · x_ij
//	subject to Σ_j x_ij = 1                          for every item i
//	           Σ_{(i,j) on r} a_ij · x_ij ≤ Q_r       for every resource r
//	           x_ij ∈ {0, 1}
//
// # The algorithm
//
// Solve presolves (presolve.go: drops options that overflow their resource
// alone or are dominated, and finds the resources that can never bind),
// splits the items into components linked by binding resources (solve.go)
// and solves each by branch-and-bound (search.go) with two bounds:
//
//   - the Lagrangian bound L(λ), the resource rows relaxed with multipliers
//     λ ≥ 0 and maximised by projected subgradient ascent (lagrangian.go),
//     with reduced-cost fixing and propagation over the flattened component
//     (flat.go);
//   - the knapsack bound K(μ), the assignment rows relaxed instead, leaving
//     one multiple-choice knapsack per resource solved exactly by dynamic
//     programming over whole units (knapsack.go), with knapsack fixing.
//
// Incumbents come from repairing the minimisers of L and polishing them by
// single and pair moves (heuristic.go), and from a large-neighbourhood
// search at the root that re-solves the items of one or two resources with
// the same branch-and-bound under a node limit (lns.go). WriteLP and
// WritePresolvedLP export the model in CPLEX LP format (lp.go) for CBC,
// GLPK and others to check.
//
// # Guarantees
//
// StatusOptimal is proven: every open node's bound reached the incumbent
// within a relative 1e-9. Solution.LowerBound is never above the optimum
// (it is a value of L or K, or the least such value over the open nodes), so
// Solution.Gap, (Cost − LowerBound) / Cost, is a proven bound on how far
// from optimal Cost can be. When Limits.Gap stops the search, that gap is
// within it; when the node or time limit does, the status says so
// (StatusFeasible, or StatusUnknown when no assignment was found yet). A
// solve is deterministic for the same problem, node limit and gap; a time
// limit can stop it earlier on a slower machine.
//
// # Why it is hand-written
//
// The first version branched over gonum's lp.Simplex relaxations. gonum's
// dense simplex refactorises the basis at every pivot: it measured 10–100×
// slower than CBC, and one LP of a 500-gang component took longer than the
// whole Lagrangian search does now. The Lagrangian bound equals the LP bound
// here (each item's subproblem is integral) and costs one pass over the kept
// options, and the knapsack bound is stronger than the LP. An exact external
// solver (CBC) is a test dependency only: the tests check every "optimal"
// against it. docs/optimizer.md has the measurements.
package milp
