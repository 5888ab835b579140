// Package openreports writes the Kubernetes findings of an audit run into
// the cluster as report resources (DESIGN §2 and contract 4.6): OpenReports
// (openreports.io/v1alpha1 Report and ClusterReport, the CRDs in
// charts/quartermaster/crds), or wgpolicyk8s.io/v1alpha2 PolicyReport and
// ClusterPolicyReport for consumers that still read those.
//
// # One bounded report per namespace
//
// Each namespace with findings gets one report named quartermaster (no
// scope: it is about the namespace it is in); findings on nodes go to one
// cluster report. A report holds failures only by default
// (Config.Warnings adds info findings as warn results), the most severe
// first and, among equals, the most costly, and stops at
// Config.MaxResults (1,000) results or Config.MaxBytes (256 KiB) of
// encoded results, whichever comes first; messages are cut at 512 bytes.
// The summary counts every finding, kept or not; a cut report says so in
// configuration.limits and in its annotations
// (quartermaster.io/results-total, and quartermaster.io/full-report
// naming the whole report.json when Config.FullReport is set). So a report
// object never nears etcd's request limit, whatever the namespace's size:
// the failure that Kyverno's and Trivy's per-namespace reports met
// (kyverno#2674, trivy-operator#441).
//
// # Bytes per GPU pod
//
// The goal is at most 2 MB of reports per 1,000 GPU pods whatever the
// layout, and the worst layout is one GPU pod per namespace: each report
// is then one pod's results beside a report's fixed cost. So what every
// report would repeat is kept once: the run's ID, the pointer to
// report.json and each rule's remediation (annotations
// remediation.quartermaster.io/<rule>, for every rule whose findings all
// share one, as the checks' and audit policies' do) are on the run's
// cluster report, which owns every namespace report (a cut report names
// report.json too, where its reader notices the cut); results carry no
// source (the report's names them all); summary counts of zero are left
// out; and the managed fields server-side apply records (about 600 bytes
// a report, a third of a small one) are dropped after each apply.
// Measured in the real API server (test/e2e/openreports_test.go): 1,972
// bytes for a namespace holding one GPU pod's three findings, so 1.97 MB
// per 1,000 GPU pods at worst; about 3,100 before (managed fields, the
// run on every report, sources, zero counts), and about 2,320 had each
// result kept its remediation.
//
// # Server-side apply, and garbage collection of stale reports
//
// Reports are written by server-side apply through controller-runtime's
// client (field manager quartermaster-auditor, forcing ownership), each
// followed by a JSON merge patch that resets the managed fields
// (managedFields: [{}]). Since nothing then records which fields the
// writer set, the patch also sets what an apply could otherwise only
// remove as their owner: the owner references (this run's cluster report
// alone), and the labels, annotations and scope the writer sets on some
// reports only, removed where this run did not set them.
//
// Each run writes a cluster report of its own, ClusterReport
// quartermaster-<hash of the run ID> (the findings on nodes, or none), and
// every namespace's report is owner-referenced to it: a namespaced object
// may have a cluster-scoped owner. After writing every report, Write
// deletes the cluster reports of every other run, and the
// controller-manager's garbage collector deletes the namespaces' reports
// they alone owned: those of namespaces with no findings left. A namespace
// that still has findings had its report re-owned by this run's cluster
// report (the patch sets the owner references whole, so the old reference
// goes), so it stays. A run that fails midway deletes nothing: the last
// complete run's reports stay until a run completes.
//
// Other owners were weighed: the Namespace collects its reports only with
// itself, which it does anyway; a per-run ConfigMap in each namespace (a
// namespaced dependent's namespaced owner must share its namespace) costs
// every namespace with findings another object (about 600 bytes of etcd)
// and the auditor the right to delete ConfigMaps cluster-wide.
//
// # Wiring
//
// cmd/auditor makes one Writer per cluster it writes reports into, with a
// controller-runtime client of that cluster (inventory/kube.ClientFor) and
// Config.Account set to that cluster's account ID, and calls Write with the
// run's ID, start time and findings after report.json is written.
// docs/inventory-kube.md lists the RBAC it needs.
package openreports
