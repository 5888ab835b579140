package clusterstate

import (
	"sync/atomic"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/quota"
)

// view is one immutable version of the state.
type view struct {
	namespaces   map[string]map[string]string
	usage        quota.GPUCounts
	byOwner      map[string]quota.GPUCounts // namespace/kind/name of the top owner → its pods' usage
	classes      map[string]*encryption.StorageClass
	defaultClass *encryption.StorageClass
	claims       map[string]*encryption.Claim // namespace/name
}

// store publishes views; the zero value holds an empty view. It answers
// admission's questions (namespace labels, GPU usage) and evidence's
// (encryption.ClaimSource) from the same view.
type store struct{ v atomic.Pointer[view] }

var _ encryption.ClaimSource = (*store)(nil)

func (s *store) load() *view {
	if v := s.v.Load(); v != nil {
		return v
	}
	return &view{}
}

// NamespaceLabels returns the labels of namespace ns, nil if unknown.
func (s *store) NamespaceLabels(ns string) map[string]string { return s.load().namespaces[ns] }

// GPUUsage returns the GPUs held; shared, do not modify.
func (s *store) GPUUsage() quota.GPUCounts { return s.load().usage }

// OwnerUsage returns the GPUs held by the pods of one object: a bare Pod, or
// the controller at the top of their owner chain (a Deployment for its
// ReplicaSets' pods, a CronJob for its Jobs'); nil if none. Shared, do not
// modify.
func (s *store) OwnerUsage(namespace, kind, name string) quota.GPUCounts {
	return s.load().byOwner[ownerKey(namespace, kind, name)]
}

func ownerKey(namespace, kind, name string) string { return namespace + "/" + kind + "/" + name }

// StorageClass returns a StorageClass by name.
func (s *store) StorageClass(name string) (*encryption.StorageClass, bool) {
	sc, ok := s.load().classes[name]
	return sc, ok
}

// DefaultStorageClass returns the class annotated as the cluster default.
func (s *store) DefaultStorageClass() (*encryption.StorageClass, bool) {
	sc := s.load().defaultClass
	return sc, sc != nil
}

// Claim returns a PersistentVolumeClaim by namespace and name.
func (s *store) Claim(namespace, name string) (*encryption.Claim, bool) {
	c, ok := s.load().claims[namespace+"/"+name]
	return c, ok
}
