// Package openreports writes the Kubernetes findings of an audit run into
// the cluster as report resources (DESIGN §2 and contract 4.6): OpenReports
// (openreports.io/v1alpha1 Report and ClusterReport, the CRDs in
// charts/quartermaster/crds), or wgpolicyk8s.io/v1alpha2 PolicyReport and
// ClusterPolicyReport for consumers that still read those.
//
// # One bounded report per namespace
//
// Each namespace with findings gets one report named quartermaster, scoped
// to the Namespace; findings on nodes go to one cluster report. A report
// holds failures only by default (Config.Warnings adds info findings as
// warn results), the most severe first and, among equals, the most costly,
// and stops at Config.MaxResults (1,000) results or Config.MaxBytes
// (256 KiB) of encoded results, whichever comes first; messages are cut
// at 512 bytes. The summary counts every finding, kept or not; a cut
// report says so in configuration.limits and in its annotations
// (quartermaster.io/results-total, and quartermaster.io/full-report naming
// the whole report.json when Config.FullReport is set). So a report object
// never nears etcd's request limit, whatever the namespace's size: the
// failure that Kyverno's and Trivy's per-namespace reports met
// (kyverno#2674, trivy-operator#441).
//
// # Server-side apply, and garbage collection of stale reports
//
// Reports are written by server-side apply through controller-runtime's
// client (field manager quartermaster-auditor, forcing ownership). The
// results list of the CRDs is atomic, so the managed fields stay a few
// lines however many results there are.
//
// A report is owner-referenced to a ConfigMap of its namespace named after
// the run (quartermaster-audit-<hash of the run ID>). After writing every
// report, Write deletes the owner ConfigMaps of every other run, and the
// controller-manager's garbage collector deletes the reports they alone
// owned: those of namespaces with no findings left. A namespace that still
// has findings had its report re-owned by this run's ConfigMap by the
// apply, so it stays. A run that fails midway deletes nothing: the last
// complete run's reports stay until a run completes. Owning the reports by
// their Namespace would not do: that collects them only with the
// namespace. The cluster report, which a namespaced object cannot own, is
// deleted by name when no cluster-scoped finding is left.
//
// # Wiring
//
// cmd/auditor makes one Writer per cluster it writes reports into, with a
// controller-runtime client of that cluster (inventory/kube.ClientFor) and
// Config.Account set to that cluster's account ID, and calls Write with the
// run's ID, start time and findings after report.json is written.
// docs/inventory-kube.md lists the RBAC it needs.
package openreports
