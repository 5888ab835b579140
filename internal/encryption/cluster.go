package encryption

import (
	"fmt"
	"io"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// StorageClass is the part of a StorageClass evidence needs.
type StorageClass struct {
	Name        string
	Provisioner string
	Parameters  map[string]string
	// Default is true for the class annotated as the cluster default.
	Default bool
}

// Claim is the part of a PersistentVolumeClaim evidence needs.
type Claim struct {
	Namespace, Name string
	// StorageClass is spec.storageClassName; nil when the field is absent
	// (the default class applies), "" when explicitly empty (no class).
	StorageClass *string
}

// ClaimSource answers cluster questions about volumes. Implementations must
// not do I/O per call: the webhook backs it with informer caches.
type ClaimSource interface {
	// Claim returns the PVC namespace/name, or false when it is unknown.
	Claim(namespace, name string) (*Claim, bool)
	// StorageClass returns the named class, or false when it is unknown.
	StorageClass(name string) (*StorageClass, bool)
	// DefaultStorageClass returns the cluster's default class, if any.
	DefaultStorageClass() (*StorageClass, bool)
}

// ClusterState is an offline snapshot of the cluster objects evidence and
// policy read: StorageClasses, PersistentVolumeClaims and Namespaces. It
// implements ClaimSource.
type ClusterState struct {
	classes    map[string]*StorageClass
	defaultSC  *StorageClass
	claims     map[string]*Claim
	namespaces map[string]map[string]string
}

var _ ClaimSource = (*ClusterState)(nil)

// NewClusterState returns a cluster state that knows no StorageClass, claim
// or namespace: what evidence is gathered from when nothing was read.
func NewClusterState() *ClusterState {
	return &ClusterState{classes: map[string]*StorageClass{}, claims: map[string]*Claim{}, namespaces: map[string]map[string]string{}}
}

// ReadClusterState parses Kubernetes YAML or JSON (many documents, or kind:
// List) holding StorageClasses, PersistentVolumeClaims and Namespaces. Other
// kinds are ignored so that `kubectl get sc,pvc,ns -A -o yaml` can be fed
// as it is. Errors name the document and field at fault.
func ReadClusterState(r io.Reader) (*ClusterState, error) {
	docs, err := workload.DecodeManifests(r)
	if err != nil {
		return nil, fmt.Errorf("reading cluster state: %w", err)
	}
	s := NewClusterState()
	for _, d := range docs {
		if err := s.add(d.Object); err != nil {
			where := fmt.Sprintf("document %d", d.Index)
			if d.Item > 0 {
				where += fmt.Sprintf(" item %d", d.Item)
			}
			return nil, fmt.Errorf("reading cluster state: %s: %w", where, err)
		}
	}
	return s, nil
}

func (s *ClusterState) add(obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	meta, ok := obj["metadata"].(map[string]any)
	if !ok && (kind == "StorageClass" || kind == "PersistentVolumeClaim" || kind == "Namespace") {
		return fmt.Errorf("%s without metadata", kind)
	}
	name, _ := meta["name"].(string)
	switch kind {
	case "StorageClass":
		if name == "" {
			return fmt.Errorf("StorageClass without metadata.name")
		}
		sc := &StorageClass{Name: name}
		if sc.Provisioner, ok = obj["provisioner"].(string); !ok || sc.Provisioner == "" {
			return fmt.Errorf("StorageClass %s: provisioner: want a non-empty string", name)
		}
		params, err := stringMap(obj["parameters"])
		if err != nil {
			return fmt.Errorf("StorageClass %s: parameters: %w", name, err)
		}
		sc.Parameters = params
		ann, err := stringMap(meta["annotations"])
		if err != nil {
			return fmt.Errorf("StorageClass %s: metadata.annotations: %w", name, err)
		}
		sc.Default = ann["storageclass.kubernetes.io/is-default-class"] == "true"
		if _, dup := s.classes[name]; dup {
			return fmt.Errorf("StorageClass %s listed twice", name)
		}
		s.classes[name] = sc
		if sc.Default {
			if s.defaultSC != nil {
				return fmt.Errorf("StorageClass %s and %s are both marked default", s.defaultSC.Name, name)
			}
			s.defaultSC = sc
		}
	case "PersistentVolumeClaim":
		ns, _ := meta["namespace"].(string)
		if name == "" || ns == "" {
			return fmt.Errorf("PersistentVolumeClaim needs metadata.name and metadata.namespace")
		}
		c := &Claim{Namespace: ns, Name: name}
		if spec, ok := obj["spec"].(map[string]any); ok {
			if raw, present := spec["storageClassName"]; present && raw != nil {
				sc, ok := raw.(string)
				if !ok {
					return fmt.Errorf("PersistentVolumeClaim %s/%s: spec.storageClassName: want a string", ns, name)
				}
				c.StorageClass = &sc
			}
		}
		s.claims[ns+"/"+name] = c
	case "Namespace":
		if name == "" {
			return fmt.Errorf("namespace without metadata.name")
		}
		labels, err := stringMap(meta["labels"])
		if err != nil {
			return fmt.Errorf("namespace %s: metadata.labels: %w", name, err)
		}
		s.namespaces[name] = labels
	}
	return nil
}

// stringMap accepts a map of strings; numbers and booleans, which YAML makes
// of unquoted values such as encrypted: true, are taken as written.
func stringMap(raw any) (map[string]string, error) {
	if raw == nil {
		return map[string]string{}, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a map of strings")
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool, float64, int64:
			out[k] = strings.TrimSpace(fmt.Sprint(v))
		default:
			return nil, fmt.Errorf("key %q: want a string", k)
		}
	}
	return out, nil
}

// Claim implements ClaimSource.
func (s *ClusterState) Claim(namespace, name string) (*Claim, bool) {
	c, ok := s.claims[namespace+"/"+name]
	return c, ok
}

// StorageClass implements ClaimSource.
func (s *ClusterState) StorageClass(name string) (*StorageClass, bool) {
	c, ok := s.classes[name]
	return c, ok
}

// DefaultStorageClass implements ClaimSource.
func (s *ClusterState) DefaultStorageClass() (*StorageClass, bool) {
	return s.defaultSC, s.defaultSC != nil
}

// NamespaceLabels returns the labels of a namespace, or nil when unknown.
func (s *ClusterState) NamespaceLabels(name string) map[string]string {
	return s.namespaces[name]
}
