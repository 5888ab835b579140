// Package auditrun is one audit run, from flags to files: it builds the
// engine (catalog, policies, admission evaluator) and the inventory (a
// snapshot file, or a scan of the accounts file's accounts with the cloud,
// cluster and metrics scanners), keeps the run's shard of it, runs the
// checks (internal/audit) and writes the reports (internal/report). cmd/auditor
// binds flags to its Config and calls Run, Snapshot or Merge; tests call
// them with scanners of their own.
package auditrun
