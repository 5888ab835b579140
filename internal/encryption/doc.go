// Package encryption gathers the evidence policies need about where a
// workload's data lives and how it is protected: for each volume, the chain
// PVC → StorageClass → CSI provisioner parameters of the three clouds; for
// each dataset, the facts an inventory knows about its bucket.
//
// It sits between workload extraction and policy evaluation in the admission
// flow. Collecting evidence does no I/O of its own: the cluster state and the
// dataset inventory are small interfaces (ClaimSource, DatasetLookup) that the
// webhook backs with informer caches and `qm eval` with files, so the
// admission hot path never waits on the network.
package encryption
