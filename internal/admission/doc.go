// Package admission turns one object into an admission outcome: extract the
// workload, evaluate it, place it, and build the JSON patch and the decision
// annotation of contract 4.2.
//
// Evaluator is the whole decision, with no transport: the webhook's HTTP
// handler and `qm eval` both call it, so the offline answer is the webhook's
// answer. Patches are built to be idempotent: applying an outcome's patch and
// evaluating the result again yields an empty patch, as a mutating webhook
// with reinvocationPolicy IfNeeded requires.
package admission
