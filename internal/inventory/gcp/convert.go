package gcp

import (
	"maps"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/storage"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// instance converts a Compute Engine instance.
func (s *Source) instance(in *computepb.Instance) *inventory.Resource {
	zone := lastSegment(in.GetZone())
	r := s.common(inventory.KindInstance, in.GetSelfLink(), in.GetName(), zoneRegion(zone), zone, in.GetLabels(), in.GetCreationTimestamp())
	inst := &inventory.Instance{
		InstanceType: lastSegment(in.GetMachineType()),
		State:        instanceState(in.GetStatus()),
		CapacityType: string(costing.OnDemand),
	}
	sched := in.GetScheduling()
	if sched.GetProvisioningModel() == "SPOT" || sched.GetPreemptible() {
		inst.CapacityType = string(costing.Spot)
	}
	for _, acc := range in.GetGuestAccelerators() {
		if inst.GPUModel == "" {
			inst.GPUModel = acceleratorModel(lastSegment(acc.GetAcceleratorType()))
		}
		inst.GPUCount += int(acc.GetAcceleratorCount())
	}
	if g, ok := s.gpus[inst.InstanceType]; ok && inst.GPUCount == 0 {
		inst.GPUModel, inst.GPUCount = g.model, g.count
	}
	for _, d := range in.GetDisks() {
		if d.GetSource() != "" {
			inst.Disks = append(inst.Disks, d.GetSource())
		}
	}
	r.Instance = inst
	return r
}

// instanceState normalises an instance's status. TERMINATED is what
// Compute Engine calls a stopped instance (it still exists and its disks
// still pay); SUSPENDED keeps its memory on disk, also paid for.
func instanceState(status string) string {
	switch status {
	case "RUNNING":
		return "running"
	case "PROVISIONING", "STAGING", "REPAIRING":
		return "pending"
	case "STOPPING", "SUSPENDING", "SUSPENDED", "TERMINATED", "STOPPED", "DEPROVISIONING":
		return "stopped"
	}
	return strings.ToLower(status)
}

// acceleratorModel maps an accelerator type (nvidia-tesla-a100,
// nvidia-a100-80gb, nvidia-h100-mega-80gb, nvidia-l4) to the canonical GPU
// model. The "tesla" of the older names is a product line, not part of
// the model.
func acceleratorModel(t string) string {
	t = strings.TrimPrefix(strings.ToLower(t), "nvidia-")
	t = strings.TrimPrefix(t, "tesla-")
	return costing.CanonicalGPUModel(t)
}

// disk converts a zonal or regional persistent disk.
func (s *Source) disk(d *computepb.Disk) *inventory.Resource {
	zone, region := lastSegment(d.GetZone()), lastSegment(d.GetRegion())
	if zone != "" {
		region = zoneRegion(zone)
	}
	r := s.common(inventory.KindDisk, d.GetSelfLink(), d.GetName(), region, zone, d.GetLabels(), d.GetCreationTimestamp())
	disk := &inventory.Disk{
		SizeGiB:    d.GetSizeGb(),
		Type:       lastSegment(d.GetType()),
		Encryption: kmsEncryption(d.GetDiskEncryptionKey().GetKmsKeyName()),
	}
	// A disk attached to several instances (read-only, or multi-writer)
	// names the first; it is attached either way.
	if users := d.GetUsers(); len(users) > 0 {
		disk.AttachedTo = users[0]
	}
	r.Disk = disk
	return r
}

// snapshot converts a disk snapshot. A snapshot stored in one region has
// that region; one in a multi-region (us, eu) has none.
func (s *Source) snapshot(sn *computepb.Snapshot) *inventory.Resource {
	region := ""
	if locs := sn.GetStorageLocations(); len(locs) == 1 && strings.Contains(locs[0], "-") {
		region = locs[0]
	}
	r := s.common(inventory.KindSnapshot, sn.GetSelfLink(), sn.GetName(), region, "", sn.GetLabels(), sn.GetCreationTimestamp())
	r.Snapshot = &inventory.Snapshot{
		SizeGiB:    sn.GetDiskSizeGb(),
		SourceDisk: sn.GetSourceDisk(),
		Encryption: kmsEncryption(sn.GetSnapshotEncryptionKey().GetKmsKeyName()),
	}
	return r
}

// kmsEncryption says who holds the key of a disk or snapshot: a Cloud KMS
// key (customer-managed) or Google. Compute Engine names the key version
// that encrypted it; the key is what policies and the bucket's default key
// name, so the version is dropped.
func kmsEncryption(kmsKeyName string) inventory.Encryption {
	if kmsKeyName == "" {
		return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	}
	key, _, _ := strings.Cut(kmsKeyName, "/cryptoKeyVersions/")
	return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: key}
}

// bucket converts a Cloud Storage bucket. Its ID is the bucket's JSON API
// resource path, as its selfLink gives it.
func (s *Source) bucket(project string, b *storage.BucketAttrs) *inventory.Resource {
	region := ""
	if strings.EqualFold(b.LocationType, "region") {
		region = strings.ToLower(b.Location)
	}
	r := s.common(inventory.KindBucket, "https://www.googleapis.com/storage/v1/b/"+b.Name, b.Name, region, "", b.Labels, "")
	r.Created = b.Created.UTC()
	bk := &inventory.Bucket{
		Location:            b.Location,
		Encryption:          inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged},
		PublicAccessBlocked: b.PublicAccessPrevention == storage.PublicAccessPreventionEnforced,
		Versioning:          b.VersioningEnabled,
		// Soft delete is on when deleted objects are kept for a while;
		// a retention of zero turns it off.
		SoftDelete: b.SoftDeletePolicy != nil && b.SoftDeletePolicy.RetentionDuration > 0,
	}
	if b.Encryption != nil && b.Encryption.DefaultKMSKeyName != "" {
		bk.Encryption = inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: b.Encryption.DefaultKMSKeyName}
	}
	r.Bucket = bk
	return r
}

// common fills the fields every resource has. Compute Engine gives
// creation times as RFC 3339 text in the Pacific time zone; they are
// stored in UTC.
func (s *Source) common(kind inventory.Kind, id, name, region, zone string, labels map[string]string, created string) *inventory.Resource {
	r := &inventory.Resource{
		Kind:     kind,
		ID:       id,
		Name:     name,
		Cloud:    inventory.CloudGCP,
		Region:   region,
		Zone:     zone,
		Observed: s.now(),
	}
	if len(labels) > 0 {
		r.Labels = maps.Clone(labels)
	}
	if t, err := time.Parse(time.RFC3339, created); err == nil {
		r.Created = t.UTC()
	}
	return r
}
