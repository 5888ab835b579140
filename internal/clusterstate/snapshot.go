package clusterstate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Snapshot is cluster state read from files: the standalone webhook's
// stand-in for informers. It reads the same files as `qm eval`: the cluster
// state as Kubernetes YAML (StorageClasses, PVCs, Namespaces; the output of
// `kubectl get sc,pvc,ns -A -o yaml` as it is) and GPU usage in the quota
// file's shape (contract 4.4b). Nodes and Karpenter NodePools in the same
// stream (`kubectl get nodes,nodepools -o yaml`) feed the provisionable
// filter.
type Snapshot struct {
	state *encryption.ClusterState
	usage quota.GPUCounts
	nodes []map[string]string // labels of the Ready, schedulable nodes
	pools []NodePool
	// holdsNodes is set when the stream had any Node or NodePool.
	holdsNodes bool
}

var _ encryption.ClaimSource = (*Snapshot)(nil)

// ReadSnapshot reads a cluster-state stream and a usage stream; either
// reader may be nil.
func ReadSnapshot(state, usage io.Reader) (*Snapshot, error) {
	s := &Snapshot{usage: quota.GPUCounts{}, state: encryption.NewClusterState()}
	if state != nil {
		data, err := io.ReadAll(state)
		if err != nil {
			return nil, fmt.Errorf("reading cluster state: %w", err)
		}
		cs, err := encryption.ReadClusterState(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		s.state = cs
		if err := s.readNodes(data); err != nil {
			return nil, err
		}
	}
	if usage != nil {
		// nil: checked against the embedded region table and GPU models.
		u, err := quota.ReadGPUCounts(usage, "usage", nil)
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
		return nil, fmt.Errorf("reading %s: %w", strings.Join(slices.DeleteFunc([]string{statePath, usagePath}, func(p string) bool { return p == "" }), " and "), err)
	}
	return s, nil
}

// readNodes keeps the Nodes and NodePools of a cluster-state stream. A node
// counts when it is schedulable and its Ready condition, if it has one, is
// True: files written by hand may leave status out.
func (s *Snapshot) readNodes(data []byte) error {
	docs, err := workload.DecodeManifests(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reading cluster state: %w", err)
	}
	for _, d := range docs {
		kind, _ := d.Object["kind"].(string)
		switch kind {
		case "Node":
			s.holdsNodes = true
			if labels, ok := readyNodeLabels(d.Object); ok {
				s.nodes = append(s.nodes, labels)
			}
		case "NodePool":
			if api, _ := d.Object["apiVersion"].(string); api != NodePoolGVR.GroupVersion().String() {
				continue // v1beta1 and older are no longer served by Karpenter
			}
			s.holdsNodes = true
			np, err := ParseNodePool(d.Object)
			if err != nil {
				return fmt.Errorf("reading cluster state: document %d: %w", d.Index, err)
			}
			s.pools = append(s.pools, np)
		}
	}
	return nil
}

// readyNodeLabels returns the labels of a Node object that can take pods.
func readyNodeLabels(obj map[string]any) (map[string]string, bool) {
	spec, _ := obj["spec"].(map[string]any)
	if u, _ := spec["unschedulable"].(bool); u {
		return nil, false
	}
	status, _ := obj["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Ready" && cm["status"] != "True" {
			return nil, false
		}
	}
	meta, _ := obj["metadata"].(map[string]any)
	raw, _ := meta["labels"].(map[string]any)
	labels := make(map[string]string, len(raw))
	for k, v := range raw {
		if sv, ok := v.(string); ok {
			labels[k] = sv
		}
	}
	return labels, true
}

// Provisioner returns the provisionable filter over the snapshot's nodes
// and NodePools, read under the label profile keys, and whether the
// cluster-state stream held any Node or NodePool at all (without them the
// filter would remove every offer, so callers leave it off).
func (s *Snapshot) Provisioner(keys workload.LabelKeys) (placement.Provisioner, bool) {
	nodes := make([]nodeKey, len(s.nodes))
	for i, l := range s.nodes {
		nodes[i] = keyOfNode(keys, l)
	}
	return newProvisionable(keys, nodes, s.pools), s.holdsNodes
}

// NamespaceLabels returns the labels of namespace ns, nil if unknown.
func (s *Snapshot) NamespaceLabels(ns string) map[string]string { return s.state.NamespaceLabels(ns) }

// GPUUsage returns the GPUs held; shared, do not modify.
func (s *Snapshot) GPUUsage() quota.GPUCounts { return s.usage }

// OwnerUsage is nil: a snapshot's usage file does not say which object
// holds the GPUs.
func (s *Snapshot) OwnerUsage(string, string, string) quota.GPUCounts { return nil }

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
