// Package engine builds, from one Config, everything a placement decision
// needs: the offer catalog (embedded, or a csv or SkyPilot file), the GPU
// quotas and usage, the cluster state (snapshot files offline and in
// --standalone, or informers from a rest.Config in a cluster), the dataset
// inventory, the policy bundle (embedded, a directory, hot-reloaded or
// none), the workload extractor, the placer, the provisionable filter, the
// encryption evidence collector and the admission.Evaluator over them, with
// the reloaders that keep the catalog, quotas and policies current, the
// readiness checks and the Prometheus metrics of all of it.
//
// It exists so that the decision is wired once. The webhook (cmd/webhook),
// the offline CLI (cmd/qm), the auditor and the Gherkin steps (features/)
// all build their evaluator here, so that a workload qm eval allows is a
// workload the webhook allows, with the same catalog, jurisdictions and
// policies. The flags that choose these inputs are bound here too
// (Config.AddFlags and its sections), so that their names, defaults and help
// read the same in every binary.
//
// The engine knows nothing of HTTP, TLS, certificates, the decision log or
// cobra: those belong to the binaries. Its dependencies (logger, metrics
// registry, Kubernetes client config) are injected through Deps rather than
// read from globals, so that tests and offline tools can pass none.
//
// Data flows one way: engine -> admission -> policy, placement -> costing.
// Nothing below imports engine.
package engine
