package clusterstate

import "fmt"

// ProvisionableMode says when the provisionable filter runs; the webhook
// and `qm eval` share it.
type ProvisionableMode string

// The provisionable filter's modes.
const (
	// ProvisionableAuto runs the filter where its facts are known: always
	// against an API server (informers watch nodes and NodePools), and from
	// a cluster-state file only when the file holds a Node or NodePool —
	// a file of StorageClasses alone says nothing about capacity, and
	// filtering on it would refuse every workload.
	ProvisionableAuto ProvisionableMode = "auto"
	// ProvisionableOn always runs it (an empty cluster then places nothing).
	ProvisionableOn ProvisionableMode = "on"
	// ProvisionableOff never runs it: every catalog offer is a candidate.
	ProvisionableOff ProvisionableMode = "off"
)

// ParseProvisionableMode checks a flag value.
func ParseProvisionableMode(s string) (ProvisionableMode, error) {
	switch m := ProvisionableMode(s); m {
	case ProvisionableAuto, ProvisionableOn, ProvisionableOff:
		return m, nil
	}
	return "", fmt.Errorf("provisionable filter %q: want auto, on or off", s)
}

// Enabled reports whether the filter runs, given whether its facts come
// from an API server and whether a cluster-state file held any Node or
// NodePool.
func (m ProvisionableMode) Enabled(inCluster, fileHoldsNodes bool) bool {
	switch m {
	case ProvisionableOn:
		return true
	case ProvisionableOff:
		return false
	}
	return inCluster || fileHoldsNodes
}
