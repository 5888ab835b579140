package encryption

import (
	"context"
	"fmt"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Jurisdictions maps a cloud region to its jurisdiction; costing.Regions
// implements it, so evidence, policy and placement share one table.
type Jurisdictions interface {
	Jurisdiction(cloud, region string) string
}

// Collector gathers Evidence for workloads. Nil sources mean "nothing is
// known": volumes and datasets are then reported with state unknown, and
// policies decide whether that denies.
type Collector struct {
	Claims        ClaimSource
	Datasets      DatasetLookup
	Jurisdictions Jurisdictions
}

// Collect returns the evidence of one workload. Errors come only from the
// dataset lookup.
func (c *Collector) Collect(ctx context.Context, w *workload.Workload) (*Evidence, error) {
	ev := &Evidence{Volumes: []VolumeEvidence{}, Datasets: make([]DatasetEvidence, 0, len(w.Datasets))}
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		for _, vol := range ps.Volumes {
			ev.Volumes = append(ev.Volumes, c.volume(w.Namespace, ps.Name, vol))
		}
	}
	for _, loc := range w.Datasets {
		d, err := c.dataset(ctx, loc)
		if err != nil {
			return nil, err
		}
		ev.Datasets = append(ev.Datasets, d)
	}
	return ev, nil
}

func (c *Collector) volume(namespace, podSet string, vol workload.Volume) VolumeEvidence {
	v := VolumeEvidence{PodSet: podSet, Name: vol.Name, Kind: vol.Kind, ClaimName: vol.ClaimName, State: StateUnknown}
	switch vol.Kind {
	case "persistentVolumeClaim":
		v.Persistent = true
		if c.Claims == nil {
			v.Detail = "no cluster state to resolve PVC " + vol.ClaimName
			return v
		}
		claim, ok := c.Claims.Claim(namespace, vol.ClaimName)
		if !ok {
			v.Detail = "PVC " + namespace + "/" + vol.ClaimName + " not found"
			return v
		}
		c.resolveClass(claim.StorageClass, &v)
	case "ephemeral":
		// A generic ephemeral volume is a PVC made from the template: its
		// class decides, exactly as for a named claim.
		v.Persistent = true
		var sc *string
		if vol.StorageClass != "" {
			sc = &vol.StorageClass
		}
		if c.Claims == nil {
			v.Detail = "no cluster state to resolve the ephemeral volume's StorageClass"
			return v
		}
		c.resolveClass(sc, &v)
	case "emptyDir", "hostPath":
		v.NodeLocal = true
		v.Detail = vol.Kind + " lives on the node's disk and follows the node's encryption"
	default:
		v.Detail = vol.Kind + " holds no workload data at rest"
	}
	return v
}

// resolveClass follows a claim's class name (nil: the default class).
func (c *Collector) resolveClass(name *string, v *VolumeEvidence) {
	var sc *StorageClass
	var ok bool
	switch {
	case name == nil:
		if sc, ok = c.Claims.DefaultStorageClass(); !ok {
			v.Detail = "the claim names no StorageClass and the cluster has no default"
			return
		}
	case *name == "":
		v.Detail = "the claim binds to a pre-provisioned volume (storageClassName \"\") whose encryption is not visible"
		return
	default:
		if sc, ok = c.Claims.StorageClass(*name); !ok {
			v.StorageClass = *name
			v.Detail = "StorageClass " + *name + " not found"
			return
		}
	}
	classEvidence(sc, v)
}

func (c *Collector) dataset(ctx context.Context, loc string) (DatasetEvidence, error) {
	d := DatasetEvidence{Location: loc, State: StateUnknown}
	scheme, bucket, err := splitLocation(loc)
	if err != nil {
		d.Detail = err.Error()
		return d, nil
	}
	d.Scheme, d.Bucket = scheme, bucket
	if c.Datasets == nil {
		d.Detail = "no dataset inventory"
		return d, nil
	}
	f, found, err := c.Datasets.LookupDataset(ctx, loc)
	if err != nil {
		return d, fmt.Errorf("looking up dataset %s: %w", loc, err)
	}
	if !found {
		d.Detail = "the inventory does not know " + loc
		return d, nil
	}
	d.Known, d.Cloud, d.Region, d.SizeBytes = true, f.Cloud, f.Region, f.SizeBytes
	if c.Jurisdictions != nil {
		d.Jurisdiction = c.Jurisdictions.Jurisdiction(f.Cloud, f.Region)
	}
	if f.Encrypted {
		d.State, d.KeyKind = StateEncrypted, f.KeyKind
		d.Detail = fmt.Sprintf("%s in %s/%s, encrypted with a %s key", f.Location, f.Cloud, f.Region, f.KeyKind)
	} else {
		d.State = StateUnencrypted
		d.Detail = fmt.Sprintf("%s in %s/%s is not encrypted", f.Location, f.Cloud, f.Region)
	}
	return d, nil
}
