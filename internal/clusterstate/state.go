package clusterstate

import (
	"sync/atomic"

	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// StorageClass is the part of a StorageClass that encryption evidence reads.
type StorageClass struct {
	Name        string            `json:"name"`
	Provisioner string            `json:"provisioner"`
	Parameters  map[string]string `json:"parameters,omitempty"`
}

// PVC is the part of a PersistentVolumeClaim that evidence reads.
type PVC struct {
	Namespace        string `json:"namespace"`
	Name             string `json:"name"`
	StorageClassName string `json:"storageClassName,omitempty"`
	VolumeName       string `json:"volumeName,omitempty"`
	// Size is the requested storage, e.g. 2Ti.
	Size string `json:"size,omitempty"`
}

// Dataset is what the inventory knows about one data location.
type Dataset struct {
	// Location is a URL prefix such as s3://corpus-eu/v3/.
	Location  string `json:"location"`
	Cloud     string `json:"cloud"`
	Region    string `json:"region"`
	Encrypted bool   `json:"encrypted"`
	// KeyKind is provider-managed or customer-managed.
	KeyKind   string `json:"keyKind,omitempty"`
	SizeBytes int64  `json:"sizeBytes,omitempty"`
}

// view is one immutable version of the state.
type view struct {
	namespaces     map[string]map[string]string
	usage          placement.GPUCounts
	storageClasses map[string]StorageClass
	pvcs           map[string]PVC // namespace/name
	datasets       map[string]Dataset
}

// store publishes views; the zero value holds an empty view.
type store struct{ v atomic.Pointer[view] }

func (s *store) load() *view {
	if v := s.v.Load(); v != nil {
		return v
	}
	return &view{}
}

// NamespaceLabels returns the labels of namespace ns, nil if unknown.
func (s *store) NamespaceLabels(ns string) map[string]string { return s.load().namespaces[ns] }

// GPUUsage returns the GPUs held; shared, do not modify.
func (s *store) GPUUsage() placement.GPUCounts { return s.load().usage }

// StorageClass returns a StorageClass by name.
func (s *store) StorageClass(name string) (StorageClass, bool) {
	sc, ok := s.load().storageClasses[name]
	return sc, ok
}

// PVC returns a claim by namespace and name.
func (s *store) PVC(namespace, name string) (PVC, bool) {
	p, ok := s.load().pvcs[namespace+"/"+name]
	return p, ok
}

// Dataset returns what the inventory knows about a location.
func (s *store) Dataset(location string) (Dataset, bool) {
	d, ok := s.load().datasets[location]
	return d, ok
}
