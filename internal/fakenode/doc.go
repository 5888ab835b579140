// Package fakenode turns catalog offers into Kubernetes Node objects for KWOK,
// the simulator the local control plane uses in place of real GPU machines.
//
// In the flow it sits beside admission, not inside it: placement pins a
// workload to a cloud, region, instance type and capacity type through node
// labels (contract 4.2), and the end-to-end tests need nodes that carry exactly
// those labels, with the GPU count, vCPUs and memory of the offer they stand
// for. Generating them from costing.Catalog means the fake fleet and the
// catalog cannot disagree. Nodes are plain maps, encoded by the caller, so this
// package needs no Kubernetes API types.
package fakenode
