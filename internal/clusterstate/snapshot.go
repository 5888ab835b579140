package clusterstate

import (
	"fmt"
	"io"
	"os"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// Snapshot is cluster state read from files: the standalone webhook's
// stand-in for informers. It reads the same files as `qm eval`: the cluster
// state as Kubernetes YAML (StorageClasses, PVCs, Namespaces; the output of
// `kubectl get sc,pvc,ns -A -o yaml` as it is) and GPU usage in the quota
// file's shape (contract 4.4b).
type Snapshot struct {
	state *encryption.ClusterState
	usage placement.GPUCounts
}

var _ encryption.ClaimSource = (*Snapshot)(nil)

// ReadSnapshot reads a cluster-state stream and a usage stream; either
// reader may be nil.
func ReadSnapshot(state, usage io.Reader) (*Snapshot, error) {
	s := &Snapshot{usage: placement.GPUCounts{}}
	if state != nil {
		cs, err := encryption.ReadClusterState(state)
		if err != nil {
			return nil, err
		}
		s.state = cs
	} else {
		cs, err := encryption.ReadClusterState(eofReader{})
		if err != nil {
			return nil, err
		}
		s.state = cs
	}
	if usage != nil {
		// nil: checked against the embedded region table and GPU models.
		u, err := placement.ReadGPUCounts(usage, "usage", nil)
		if err != nil {
			return nil, err
		}
		s.usage = u
	}
	return s, nil
}

// ReadSnapshotFiles reads the files at the paths; an empty path is skipped.
func ReadSnapshotFiles(statePath, usagePath string) (*Snapshot, error) {
	var readers [2]io.Reader
	for i, p := range []string{statePath, usagePath} {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", p, err)
		}
		defer f.Close()
		readers[i] = f
	}
	s, err := ReadSnapshot(readers[0], readers[1])
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", statePath, usagePath, err)
	}
	return s, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// NamespaceLabels returns the labels of namespace ns, nil if unknown.
func (s *Snapshot) NamespaceLabels(ns string) map[string]string { return s.state.NamespaceLabels(ns) }

// GPUUsage returns the GPUs held; shared, do not modify.
func (s *Snapshot) GPUUsage() placement.GPUCounts { return s.usage }

// OwnerUsage is nil: a snapshot's usage file does not say which object
// holds the GPUs.
func (s *Snapshot) OwnerUsage(string, string, string) placement.GPUCounts { return nil }

// Claim returns a PersistentVolumeClaim by namespace and name.
func (s *Snapshot) Claim(namespace, name string) (*encryption.Claim, bool) {
	return s.state.Claim(namespace, name)
}

// StorageClass returns a StorageClass by name.
func (s *Snapshot) StorageClass(name string) (*encryption.StorageClass, bool) {
	return s.state.StorageClass(name)
}

// DefaultStorageClass returns the cluster's default class, if any.
func (s *Snapshot) DefaultStorageClass() (*encryption.StorageClass, bool) {
	return s.state.DefaultStorageClass()
}
