// Package gcp is the inventory source of Google Cloud projects: it lists a
// project's Compute Engine instances, persistent disks and disk snapshots
// and its Cloud Storage buckets, and emits them as normalised inventory
// Resources, which the auditor's compliance, waste and cost checks read
// (DESIGN §2).
//
// Source implements inventory.Scanner: one Scan is one project. Instances
// and disks come from the aggregated lists (every zone and region of the
// project in one paged listing, rather than a request per zone), snapshots
// from the global list, buckets from the JSON API's bucket list with its
// full projection. Discover lists the active projects the credentials can
// see (Resource Manager's SearchProjects), for the accounts file's
// discover.gcpProjects.
//
// The clients are made once per Source, not per project: the Compute
// Engine REST clients, the Cloud Storage client and the Resource Manager
// client all take the project in each request, and each holds an HTTP
// client and a token source worth sharing across the projects of a run.
// Close releases them.
//
// What each resource carries, and why:
//   - an instance's GPUs are its guestAccelerators (attached to n1, bundled
//     with a2, a3 and g2 machine types, and listed for both), mapped to the
//     canonical model; the costing catalog's machine types fill in when the
//     list is empty; the SPOT provisioning model and the older preemptible
//     flag are spot capacity; TERMINATED (stopped) and SUSPENDED instances
//     are stopped, as their disks still pay;
//   - a disk's or snapshot's Cloud KMS key makes it customer-managed, else
//     Google's key protects it; a disk's users are the instances it is
//     attached to;
//   - a bucket's location, default KMS key, public access prevention
//     (enforced only: inherited depends on an organisation policy the
//     bucket does not show), versioning and soft delete policy.
//
// Throttling: Compute Engine and Cloud Storage answer 429 (and 503 when
// overloaded) without a Retry-After; gax's and the storage client's
// retryers back off with jitter within the bounds of Config.Retry
// (DefaultRetry and docs/inventory-azure-gcp.md give the figures). The
// source reads no environment: cmd/auditor passes the client options, or
// none for Application Default Credentials.
package gcp
