// Package azure is the inventory source of Azure subscriptions: it lists a
// subscription's virtual machines (with the instances of Uniform scale sets,
// which AKS node pools are), managed disks, disk snapshots and storage
// accounts through Azure Resource Manager and emits them as normalised
// inventory Resources, which the auditor's compliance, waste and cost checks
// read (DESIGN §2).
//
// Source implements inventory.Scanner: one Scan is one subscription, with a
// client set of its own (compute and storage ARM clients over one shared
// credential), listed with the SDK's pagers. Discover lists the
// subscriptions the credential can read, for the accounts file's
// discover.azureSubscriptions.
//
// What each resource carries, and why:
//   - a VM's size is mapped to its GPU model and count through the costing
//     catalog, so that GPU spend is priced the same way placement prices it;
//     Spot (and the legacy Low) priority is spot capacity; the power state
//     comes from the instance view, since a deallocated GPU VM costs nothing
//     but its disks, and the attached managed disks are listed so that they
//     can be priced while the VM is stopped;
//   - a disk's or snapshot's encryption type says whose key protects it:
//     the platform's (provider-managed) or a disk encryption set's
//     (customer-managed, with the set's ID as the key), and a disk's
//     managedBy names the VM it is attached to;
//   - a storage account's key source (Microsoft.Storage or
//     Microsoft.Keyvault), allowBlobPublicAccess, and its blob service's
//     versioning and soft delete.
//
// Azure resource IDs are case-insensitive, and ARM spells one ID differently
// in different places (a disk's managedBy often upper-cases the resource
// group of the VM's own ID), so every ID the source emits is lower-cased:
// the auditor joins disks to VMs by plain string comparison.
//
// Throttling: ARM answers 429 with a Retry-After; the azcore retry policy
// honours it within bounds set by Config.Retry (DefaultRetry and
// docs/inventory-azure-gcp.md give the figures). The source reads no
// environment: cmd/auditor builds the credential (azidentity's
// DefaultAzureCredential) and hands it in.
package azure
