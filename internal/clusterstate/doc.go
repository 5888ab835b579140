// Package clusterstate keeps what an admission decision reads about the
// cluster in memory: namespace labels, the GPUs already held per cloud,
// region and model (for quotas), StorageClasses and PersistentVolumeClaims
// (for encryption evidence) and dataset facts from the inventory.
//
// Two sources fill it. Informers watch the API server and keep caches, so
// the request path never calls it; a Snapshot reads the same facts from
// files, for `webhook --standalone` on a laptop and for benchmarks. Both
// publish immutable views through an atomic pointer: readers take no lock.
package clusterstate
