// Package inventory is what the auditor sees: every cluster object, cloud
// resource and GPU measurement it checks, normalised into one streamed
// Resource record, whatever cloud or API it came from (DESIGN §2).
//
// Sources are adapters behind one small interface, Scanner: one call scans
// one account (an AWS account, an Azure subscription, a GCP project, a
// kubeconfig context) and streams its resources. Runner drives them over
// many accounts: a bounded number per cloud at once, because the clouds
// throttle per caller and the tools that scan everything at once run out of
// memory or API quota (Cloud Custodian past 500 accounts, CloudQuery's
// client per account × region); each account into a spool file of its own,
// replayed to the caller whole when the account finishes, so memory does
// not grow with the inventory, a failed account is reported rather than
// half-counted, and with a checkpoint directory a killed run resumes
// without scanning finished accounts again.
//
// The snapshot format (SnapshotWriter, SnapshotReader; docs/snapshot.md) is
// the same stream on disk: gzip-compressed JSON lines with a versioned
// header and a counting trailer, so a snapshot cut short is an error. It
// serves the spools, `auditor snapshot --out FILE` and `auditor --snapshot
// FILE`, and the examples of make demo.
//
// The accounts file (ReadAccounts) lists the accounts, how to discover more,
// and the limits; every entry is checked, since a mistyped account is one
// never scanned.
package inventory
