// Package clusterstate keeps what an admission decision reads about the
// cluster in memory: namespace labels, the GPUs already held per cloud,
// region and model (for quotas), StorageClasses and PersistentVolumeClaims
// (for encryption evidence), dataset facts from the inventory, and what the
// provisionable filter reads: the Ready nodes' placement labels and
// Karpenter NodePools' requirements, precomputed into a set that answers
// "can the cluster run this offer?" without allocating.
//
// Two sources fill it. Informers watch the API server and keep caches, so
// the request path never calls it; a Snapshot reads the same facts from
// files, for `webhook --standalone` on a laptop and for benchmarks. Both
// publish immutable views through an atomic pointer: readers take no lock.
package clusterstate
