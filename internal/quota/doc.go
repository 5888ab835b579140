// Package quota reads and holds GPU counts per cloud region and GPU model:
// the quota file (how many GPUs an organisation may hold there) and the
// usage file (how many it holds already), both contract 4.4b.
//
// It is a leaf: placement charges offers against the counts, clusterstate
// counts the GPUs of running pods into the same shape, and the commands and
// the reloader read the files through ReadGPUCounts, which checks every
// entry against the names of the catalog in use.
package quota
