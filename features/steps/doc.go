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
// (admission.NewHandler) in process, over an evaluator wired as qm eval and
// the webhook wire theirs — the embedded default policy library loaded by
// policy.Load (or, for the broken-policy test, a copy of it), catalogs read
// by the catalog's CSV reader, encryption evidence and the provisionable
// filter from the cluster state and inventory a scenario writes, read by the
// same parsers as --cluster-state and --inventory. The decision log is the
// real writer and verifier; batch placement is the real optimizer behind
// the admission policies' judgement, as in qm optimize.
//
// Each file holds one group of steps: catalog.go (offers, quotas, storage,
// inventory), workload.go (the object), admission.go (admitting it and what
// the user sees), update.go (its life after admission), webhook.go
// (transport, deadlines, decision log), profiles.go (label profiles, nodes),
// policyconfig.go (enforcement modes, exemptions, the validating call) and
// batch.go (qm optimize).
package steps
