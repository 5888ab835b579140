// Package batch places many gangs at once: it is the adapter between
// placement and the exact solver of internal/milp, for `qm optimize`.
//
// NewModel turns a Request (gangs, the GPUs already in use, where datasets
// live, a migration penalty) into a milp.Problem: an item per gang, an
// option per feasible placement of it (placement.Placer.Candidates, the same
// filters as single placement) priced at compute × expected duration +
// dataset egress + migration, and a resource per quota key. Model.Solve
// solves it and maps the solution back to an Assignment per gang, or names
// the gangs that cannot be placed and why.
//
// It lives apart from placement so that the webhook, which places one gang
// at a time, does not link the solver: `go list -deps ./cmd/webhook` lists
// neither this package nor milp.
package batch
