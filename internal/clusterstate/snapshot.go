package clusterstate

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// MaxFileBytes bounds a cluster-state or inventory file.
const MaxFileBytes = 64 << 20

// Snapshot is cluster state read from files: the standalone webhook's
// stand-in for informers.
type Snapshot struct{ store }

// snapshotFile is the --cluster-state format.
type snapshotFile struct {
	Namespaces []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"namespaces"`
	// Usage has the shape of contract 4.4b.
	Usage []struct {
		Cloud    string `json:"cloud"`
		Region   string `json:"region"`
		GPUModel string `json:"gpuModel"`
		GPUs     int64  `json:"gpus"`
	} `json:"usage"`
	StorageClasses         []StorageClass `json:"storageClasses"`
	PersistentVolumeClaims []PVC          `json:"persistentVolumeClaims"`
}

// inventoryFile is the --inventory format.
type inventoryFile struct {
	Datasets []Dataset `json:"datasets"`
}

// ReadSnapshot reads a cluster-state file and an inventory file; either
// reader may be nil.
func ReadSnapshot(state, inventory io.Reader) (*Snapshot, error) {
	v := &view{namespaces: map[string]map[string]string{}, usage: placement.GPUCounts{},
		storageClasses: map[string]StorageClass{}, pvcs: map[string]PVC{}, datasets: map[string]Dataset{}}
	if state != nil {
		var f snapshotFile
		if err := decode(state, &f, "cluster state"); err != nil {
			return nil, err
		}
		for i, ns := range f.Namespaces {
			if ns.Name == "" {
				return nil, fmt.Errorf("cluster state: namespaces[%d]: name is required", i)
			}
			v.namespaces[ns.Name] = ns.Labels
		}
		for i, u := range f.Usage {
			if u.Cloud == "" || u.Region == "" || u.GPUModel == "" || u.GPUs < 0 {
				return nil, fmt.Errorf("cluster state: usage[%d]: want cloud, region, gpuModel and gpus >= 0", i)
			}
			v.usage[placement.QuotaKey{Cloud: u.Cloud, Region: u.Region, GPUModel: u.GPUModel}] += u.GPUs
		}
		for i, sc := range f.StorageClasses {
			if sc.Name == "" {
				return nil, fmt.Errorf("cluster state: storageClasses[%d]: name is required", i)
			}
			v.storageClasses[sc.Name] = sc
		}
		for i, p := range f.PersistentVolumeClaims {
			if p.Namespace == "" || p.Name == "" {
				return nil, fmt.Errorf("cluster state: persistentVolumeClaims[%d]: namespace and name are required", i)
			}
			v.pvcs[p.Namespace+"/"+p.Name] = p
		}
	}
	if inventory != nil {
		var f inventoryFile
		if err := decode(inventory, &f, "inventory"); err != nil {
			return nil, err
		}
		for i, d := range f.Datasets {
			if d.Location == "" {
				return nil, fmt.Errorf("inventory: datasets[%d]: location is required", i)
			}
			v.datasets[d.Location] = d
		}
	}
	s := &Snapshot{}
	s.v.Store(v)
	return s, nil
}

// ReadSnapshotFiles opens and reads the files; an empty path is skipped.
func ReadSnapshotFiles(statePath, inventoryPath string) (*Snapshot, error) {
	open := func(p string) (io.Reader, func(), error) {
		if p == "" {
			return nil, func() {}, nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, fmt.Errorf("opening %s: %w", p, err)
		}
		return f, func() { f.Close() }, nil
	}
	st, closeSt, err := open(statePath)
	if err != nil {
		return nil, err
	}
	defer closeSt()
	inv, closeInv, err := open(inventoryPath)
	if err != nil {
		return nil, err
	}
	defer closeInv()
	return ReadSnapshot(st, inv)
}

func decode(r io.Reader, into any, what string) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	if len(data) > MaxFileBytes {
		return fmt.Errorf("%s file is larger than %d MiB", what, MaxFileBytes>>20)
	}
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(data), into); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
