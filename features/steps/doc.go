// Package steps implements the godog steps of the features in ../, in the
// shape of operator-controller's test/e2e: RegisterSteps adds every step
// definition, RegisterHooks a Before hook that puts a fresh world (catalog,
// quotas, usage, cluster state, inventory, the object and the webhook's last
// answer) in the scenario's context and an After hook that cleans it up.
//
// Steps are declarative, in the words of the people who read the features
// ("Given a PyTorchJob requesting 4 replicas of 8 "H100" GPUs", "And its data
// must stay in "eu"") and drive the product, not a double of it: each
// admission is an AdmissionReview posted to the webhook's own handler
// (admission.NewHandler) in process, over an evaluator built by
// internal/engine, the constructor qm eval and the webhook call: the
// scenario's catalog, quotas, cluster state and inventory are written as the
// files --catalog, --quota, --cluster-state and --inventory would name, and
// read by the same loaders. Only the policy engine is handed in: the embedded
// default library loaded once by policy.Load (or, for the broken-policy
// test, a copy of it). The decision log is the real writer and verifier;
// batch placement is the real optimizer over the engine's policy phase
// (Engine.Gang), as in qm optimize.
//
// Each file holds one group of steps: catalog.go (offers, quotas, storage,
// inventory), workload.go (the object), admission.go (admitting it and what
// the user sees), update.go (its life after admission), webhook.go
// (transport, deadlines, decision log), profiles.go (label profiles, nodes),
// policyconfig.go (enforcement modes, exemptions, the validating call),
// reload.go (catalog and quota files changing under the engine) and
// batch.go (qm optimize).
package steps
