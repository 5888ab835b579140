package azure

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// vm converts a VM and its power state.
func (s *Source) vm(vm *armcompute.VirtualMachine, state string) *inventory.Resource {
	r := s.common(inventory.KindInstance, vm.ID, vm.Name, vm.Location, vm.Zones, vm.Tags)
	var size string
	var priority armcompute.VirtualMachinePriorityTypes
	var storage *armcompute.StorageProfile
	if p := vm.Properties; p != nil {
		r.Created = deref(p.TimeCreated)
		if p.HardwareProfile != nil {
			size = string(deref(p.HardwareProfile.VMSize))
		}
		priority, storage = deref(p.Priority), p.StorageProfile
	}
	r.Instance = s.instance(size, priority, state, storage)
	return r
}

// scaleSetVM converts an instance of a Uniform scale set. Its size is its
// SKU; its priority and, when it has none of its own, its tags are the
// scale set's.
func (s *Source) scaleSetVM(set *armcompute.VirtualMachineScaleSet, vm *armcompute.VirtualMachineScaleSetVM) *inventory.Resource {
	tags := vm.Tags
	if len(tags) == 0 {
		tags = set.Tags
	}
	r := s.common(inventory.KindInstance, vm.ID, vm.Name, vm.Location, vm.Zones, tags)
	var size, state string
	var priority armcompute.VirtualMachinePriorityTypes
	var storage *armcompute.StorageProfile
	switch {
	case vm.SKU != nil && vm.SKU.Name != nil:
		size = *vm.SKU.Name
	case set.SKU != nil:
		size = deref(set.SKU.Name)
	}
	if p := set.Properties; p != nil && p.VirtualMachineProfile != nil {
		priority = deref(p.VirtualMachineProfile.Priority)
	}
	if p := vm.Properties; p != nil {
		r.Created = deref(p.TimeCreated)
		if size == "" && p.HardwareProfile != nil {
			size = string(deref(p.HardwareProfile.VMSize))
		}
		if p.InstanceView != nil {
			state = powerState(p.InstanceView.Statuses)
		}
		storage = p.StorageProfile
	}
	r.Instance = s.instance(size, priority, state, storage)
	return r
}

// instance is what VMs and scale set instances have in common.
func (s *Source) instance(size string, priority armcompute.VirtualMachinePriorityTypes, state string, sp *armcompute.StorageProfile) *inventory.Instance {
	inst := &inventory.Instance{InstanceType: size, State: state, CapacityType: string(costing.OnDemand)}
	// Low is the retired low-priority VM, sold from the same spare
	// capacity as Spot and evicted the same way.
	switch priority {
	case armcompute.VirtualMachinePriorityTypesSpot, armcompute.VirtualMachinePriorityTypesLow,
		armcompute.VirtualMachinePriorityTypesSpotPlus:
		inst.CapacityType = string(costing.Spot)
	}
	if sp != nil {
		if sp.OSDisk != nil && sp.OSDisk.ManagedDisk != nil && sp.OSDisk.ManagedDisk.ID != nil {
			inst.Disks = append(inst.Disks, normID(*sp.OSDisk.ManagedDisk.ID))
		}
		for _, d := range sp.DataDisks {
			if d != nil && d.ManagedDisk != nil && d.ManagedDisk.ID != nil {
				inst.Disks = append(inst.Disks, normID(*d.ManagedDisk.ID))
			}
		}
	}
	if g, ok := s.gpus[strings.ToLower(size)]; ok {
		inst.GPUModel, inst.GPUCount = g.model, g.count
	}
	return inst
}

// powerState normalises the PowerState/* status of an instance view:
// running, pending (starting), stopped (stopped, deallocated and the
// transitions to them), or empty when the view has no power state. A
// stopped but not deallocated VM still pays for its compute; a deallocated
// one only for its disks. Both are stopped here, as the disks are what the
// waste check prices.
func powerState(statuses []*armcompute.InstanceViewStatus) string {
	for _, st := range statuses {
		if st == nil {
			continue
		}
		code, ok := strings.CutPrefix(deref(st.Code), "PowerState/")
		if !ok {
			continue
		}
		switch code {
		case "running":
			return "running"
		case "starting":
			return "pending"
		case "stopping", "stopped", "deallocating", "deallocated":
			return "stopped"
		default:
			return code
		}
	}
	return ""
}

// disk converts a managed disk.
func (s *Source) disk(d *armcompute.Disk) *inventory.Resource {
	r := s.common(inventory.KindDisk, d.ID, d.Name, d.Location, d.Zones, d.Tags)
	disk := &inventory.Disk{Encryption: inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}}
	if d.SKU != nil {
		disk.Type = string(deref(d.SKU.Name))
	}
	if d.ManagedBy != nil {
		disk.AttachedTo = normID(*d.ManagedBy)
	}
	if p := d.Properties; p != nil {
		r.Created = deref(p.TimeCreated)
		disk.SizeGiB = int64(deref(p.DiskSizeGB))
		disk.Encryption = encryption(p.Encryption)
	}
	r.Disk = disk
	return r
}

// snapshot converts a disk snapshot.
func (s *Source) snapshot(sn *armcompute.Snapshot) *inventory.Resource {
	r := s.common(inventory.KindSnapshot, sn.ID, sn.Name, sn.Location, nil, sn.Tags)
	snap := &inventory.Snapshot{Encryption: inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}}
	if p := sn.Properties; p != nil {
		r.Created = deref(p.TimeCreated)
		snap.SizeGiB = int64(deref(p.DiskSizeGB))
		snap.Encryption = encryption(p.Encryption)
		if p.CreationData != nil && p.CreationData.SourceResourceID != nil {
			snap.SourceDisk = normID(*p.CreationData.SourceResourceID)
		}
	}
	r.Snapshot = snap
	return r
}

// encryption maps a disk's or snapshot's encryption type. Managed disks
// are always encrypted at rest; a missing setting is the platform key, the
// default. With a customer key (alone or double with the platform's), the
// disk encryption set is the key the evidence names.
func encryption(e *armcompute.Encryption) inventory.Encryption {
	out := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	if e == nil {
		return out
	}
	switch deref(e.Type) {
	case armcompute.EncryptionTypeEncryptionAtRestWithCustomerKey,
		armcompute.EncryptionTypeEncryptionAtRestWithPlatformAndCustomerKeys:
		out.KeyKind = inventory.KeyCustomerManaged
		if e.DiskEncryptionSetID != nil {
			out.KeyID = normID(*e.DiskEncryptionSetID)
		}
	}
	return out
}

// account converts a storage account and its blob service properties (nil
// when it has no blob service).
func (s *Source) account(a *armstorage.Account, blob *armstorage.BlobServicePropertiesProperties) *inventory.Resource {
	r := s.common(inventory.KindBucket, a.ID, a.Name, a.Location, nil, a.Tags)
	b := &inventory.Bucket{
		Location:   r.Region,
		Encryption: inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged},
	}
	if p := a.Properties; p != nil {
		r.Created = deref(p.CreationTime)
		// An account that predates the setting reports no value and
		// allows public blobs, as they all did then.
		b.PublicAccessBlocked = p.AllowBlobPublicAccess != nil && !*p.AllowBlobPublicAccess
		if e := p.Encryption; e != nil && deref(e.KeySource) == armstorage.KeySourceMicrosoftKeyvault {
			b.Encryption.KeyKind = inventory.KeyCustomerManaged
			b.Encryption.KeyID = keyVaultKey(e.KeyVaultProperties)
		}
	}
	if blob != nil {
		b.Versioning = deref(blob.IsVersioningEnabled)
		b.SoftDelete = blob.DeleteRetentionPolicy != nil && deref(blob.DeleteRetentionPolicy.Enabled)
	}
	r.Bucket = b
	return r
}

// keyVaultKey names a customer key as Key Vault does,
// https://VAULT.vault.azure.net/keys/NAME[/VERSION]; a key without a
// version is the auto-rotated latest one.
func keyVaultKey(p *armstorage.KeyVaultProperties) string {
	if p == nil || p.KeyName == nil {
		return ""
	}
	id := strings.TrimSuffix(deref(p.KeyVaultURI), "/") + "/keys/" + *p.KeyName
	if v := deref(p.KeyVersion); v != "" {
		id += "/" + v
	}
	return id
}

// common fills the fields every resource has. A zonal resource's zone is
// named as AKS labels its nodes' topology.kubernetes.io/zone
// (eastus-1), so a node and its VM carry the same zone.
func (s *Source) common(kind inventory.Kind, id, name, location *string, zones []*string, tags map[string]*string) *inventory.Resource {
	r := &inventory.Resource{
		Kind:     kind,
		ID:       normID(deref(id)),
		Name:     deref(name),
		Cloud:    inventory.CloudAzure,
		Region:   strings.ToLower(deref(location)),
		Observed: s.now(),
	}
	if len(zones) > 0 && zones[0] != nil && r.Region != "" {
		r.Zone = r.Region + "-" + *zones[0]
	}
	if len(tags) > 0 {
		r.Labels = make(map[string]string, len(tags))
		for k, v := range tags {
			r.Labels[k] = deref(v)
		}
	}
	return r
}

// normID lower-cases an Azure resource ID, which ARM compares without case
// but spells differently from place to place.
func normID(id string) string { return strings.ToLower(id) }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
