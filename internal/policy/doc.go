// Package policy loads, compiles, hot-reloads and evaluates Rego policy
// bundles (contract 4.3): the step of the admission flow between evidence
// and placement, shared unchanged by the auditor.
//
// A Bundle is compiled once into prepared queries; evaluating it per request
// only converts the Input to an AST value and runs the prepared plan, so no
// parsing or compilation ever happens on the request path (Compilations
// counts them, and a benchmark checks it stays still). Load also does what
// does not depend on the request: rules that read no input are evaluated
// there and the queries see them as constants (fold.go), and the input
// paths the rules read are collected so that a request converts only those
// (inputvalue.go).
//
// Evaluation has two phases because budget rules need the price of the
// placement that the restrictions of every other rule lead to:
//
//  1. Evaluate runs every quartermaster.* package (audit packages excepted)
//     except the deny/warn rules of packages that read input.placement, and
//     returns an Evaluation: its Decision holds violations, warnings and the
//     intersected restrictions.
//  2. After placement, Evaluation.Placed runs the deny/warn rules of the
//     packages that read input.placement, with the chosen placement added
//     to the input phase one converted, on the bundle phase one used.
//
// Placement picks the cheapest compliant offer, so a budget denial in phase
// two means no compliant placement fits the budget.
package policy
