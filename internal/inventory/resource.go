package inventory

import (
	"fmt"
	"time"
)

// Cloud names the provider a resource lives in. Kubernetes objects carry the
// cloud of their cluster when it is known, else CloudKube.
type Cloud string

// The sources' clouds.
const (
	CloudAWS   Cloud = "aws"
	CloudAzure Cloud = "azure"
	CloudGCP   Cloud = "gcp"
	CloudKube  Cloud = "kubernetes"
)

// Kind is the normalised kind of a resource: the same kind from three clouds
// is one Kind, so that one check (or one Rego rule) serves all of them.
type Kind string

// The kinds the sources emit. Cloud kinds first, then Kubernetes kinds, then
// measurements.
const (
	KindInstance       Kind = "Instance"    // EC2 instance, Azure VM, GCE instance
	KindDisk           Kind = "Disk"        // EBS volume, managed disk, persistent disk
	KindSnapshot       Kind = "Snapshot"    // EBS snapshot, disk snapshot
	KindBucket         Kind = "Bucket"      // S3 bucket, storage account, GCS bucket
	KindKey            Kind = "Key"         // KMS key, Key Vault key, Cloud KMS key
	KindPod            Kind = "Pod"         // a Kubernetes pod
	KindNode           Kind = "Node"        // a Kubernetes node
	KindVolumeClaim    Kind = "VolumeClaim" // a PersistentVolumeClaim with its volume and class
	KindWorkload       Kind = "Workload"    // a controller object: Deployment, Job, PyTorchJob, ...
	KindNamespace      Kind = "Namespace"
	KindVolumeSnapshot Kind = "VolumeSnapshot" // a CSI VolumeSnapshot
	KindGPUUsage       Kind = "GPUUsage"       // one GPU's utilisation over the scan window
)

// Resource is one thing a source saw, normalised across clouds. The common
// fields identify and locate it; exactly one of the kind-specific parts is
// set, matching Kind. It is the record the auditor's checks read, the line a
// snapshot stores, and (converted to a Rego value) the input of audit
// policies, so its JSON names are a contract: docs/snapshot.md.
type Resource struct {
	Kind Kind `json:"kind"`
	// ID is the provider's identifier (an ARN, an Azure resource ID, a GCP
	// self link, a Kubernetes namespace/name), unique within Account.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Account is the AWS account ID, Azure subscription ID, GCP project ID
	// or kubeconfig context the resource was read from.
	Account string `json:"account"`
	Cloud   Cloud  `json:"cloud"`
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	// Namespace is set for Kubernetes objects.
	Namespace string `json:"namespace,omitempty"`
	// Labels are tags (AWS, Azure) or labels (GCP, Kubernetes).
	Labels map[string]string `json:"labels,omitempty"`
	// Created is when the provider says the resource was made; zero when
	// it does not say.
	Created time.Time `json:"created,omitzero"`
	// Observed is when the source read it.
	Observed time.Time `json:"observed"`

	Instance       *Instance       `json:"instance,omitempty"`
	Disk           *Disk           `json:"disk,omitempty"`
	Snapshot       *Snapshot       `json:"snapshot,omitempty"`
	Bucket         *Bucket         `json:"bucket,omitempty"`
	Key            *Key            `json:"key,omitempty"`
	Pod            *Pod            `json:"pod,omitempty"`
	Node           *Node           `json:"node,omitempty"`
	Claim          *Claim          `json:"claim,omitempty"`
	Workload       *Workload       `json:"workload,omitempty"`
	GPUUsage       *GPUUsage       `json:"gpuUsage,omitempty"`
	VolumeSnapshot *VolumeSnapshot `json:"volumeSnapshot,omitempty"`
}

// Instance is a virtual machine.
type Instance struct {
	InstanceType string `json:"instanceType"`
	// State is normalised: running, stopped, pending, terminated.
	State string `json:"state"`
	// CapacityType is on-demand or spot (AWS spot lifecycle, Azure Spot
	// priority, GCP SPOT/preemptible provisioning model).
	CapacityType string `json:"capacityType"`
	GPUModel     string `json:"gpuModel,omitempty"` // canonical (H100, A100-80GB, ...)
	GPUCount     int    `json:"gpuCount,omitempty"`
	// Disks are the IDs of attached disks, so that a stopped instance's
	// disks can be priced as still paying.
	Disks []string `json:"disks,omitempty"`
}

// Encryption says how data at rest is protected.
type Encryption struct {
	Encrypted bool `json:"encrypted"`
	// KeyKind is provider-managed or customer-managed; empty when not
	// encrypted.
	KeyKind string `json:"keyKind,omitempty"`
	// KeyID is the customer-managed key (KMS key ARN, disk encryption set,
	// Cloud KMS key name).
	KeyID string `json:"keyId,omitempty"`
}

// Key kinds of Encryption.KeyKind, as the encryption evidence names them.
const (
	KeyProviderManaged = "provider-managed"
	KeyCustomerManaged = "customer-managed"
)

// Disk is a block volume.
type Disk struct {
	SizeGiB    int64      `json:"sizeGiB"`
	Type       string     `json:"type,omitempty"` // gp3, Premium_LRS, pd-ssd, ...
	Encryption Encryption `json:"encryption"`
	// AttachedTo is the instance ID, empty when the disk is unattached.
	AttachedTo string `json:"attachedTo,omitempty"`
}

// Snapshot is a point-in-time copy of a disk.
type Snapshot struct {
	SizeGiB    int64      `json:"sizeGiB"`
	SourceDisk string     `json:"sourceDisk,omitempty"`
	Encryption Encryption `json:"encryption"`
}

// Bucket is an object store: an S3 bucket, an Azure storage account, a GCS
// bucket.
type Bucket struct {
	// Location is the bucket's region or multi-region as the provider
	// names it (the common Region is set when it is one region).
	Location   string     `json:"location"`
	Encryption Encryption `json:"encryption"`
	// PublicAccessBlocked is true when the provider's account- or
	// bucket-level block is on (S3 public access block, Azure
	// allowBlobPublicAccess false, GCS public access prevention enforced).
	PublicAccessBlocked bool `json:"publicAccessBlocked"`
	Versioning          bool `json:"versioning"`
	// SoftDelete is Azure's blob soft delete or GCS soft delete.
	SoftDelete bool `json:"softDelete,omitempty"`
}

// Key is an encryption key.
type Key struct {
	// State is normalised: enabled, disabled, pending-deletion.
	State           string `json:"state"`
	RotationEnabled bool   `json:"rotationEnabled"`
	// Manager is customer or provider (AWS-managed keys cannot be rotated
	// by the customer and are not findings).
	Manager string `json:"manager"`
}

// Pod is a Kubernetes pod with what the checks need of it.
type Pod struct {
	NodeName string `json:"nodeName,omitempty"`
	Phase    string `json:"phase"`
	// GPUs is the GPUs the pod requests, by resource name.
	GPUs map[string]int64 `json:"gpus,omitempty"`
	// Owner is the top of its owner chain, Kind/name (a Deployment, not
	// its ReplicaSet), for allocating cost and matching decisions.
	Owner string `json:"owner,omitempty"`
	// Team is the quartermaster.io/team of the pod or its namespace.
	Team string `json:"team,omitempty"`
	// Claims are the PersistentVolumeClaims it mounts.
	Claims    []string  `json:"claims,omitempty"`
	StartTime time.Time `json:"startTime,omitzero"`
}

// Node is a Kubernetes node.
type Node struct {
	InstanceType string `json:"instanceType,omitempty"`
	CapacityType string `json:"capacityType,omitempty"`
	// ProviderID links the node to its cloud instance (aws:///zone/i-...).
	ProviderID string           `json:"providerID,omitempty"`
	GPUs       map[string]int64 `json:"gpus,omitempty"` // allocatable, by resource name
	Ready      bool             `json:"ready"`
}

// Claim is a PersistentVolumeClaim joined with its volume and class.
type Claim struct {
	StorageClass string     `json:"storageClass,omitempty"`
	Volume       string     `json:"volume,omitempty"`
	SizeGiB      int64      `json:"sizeGiB"`
	Encryption   Encryption `json:"encryption"`
	// MountedBy are the pods that mount it; empty means orphaned.
	MountedBy []string `json:"mountedBy,omitempty"`
}

// Workload is a controller object, with the decision it was admitted with.
type Workload struct {
	APIVersion string `json:"apiVersion"`
	// Object is the object as read, managed fields stripped: the admission
	// policies are evaluated again over it.
	Object map[string]any `json:"object,omitempty"`
	// Decision is the quartermaster.io/decision annotation, if any.
	Decision string `json:"decision,omitempty"`
}

// VolumeSnapshot is a CSI VolumeSnapshot.
type VolumeSnapshot struct {
	SourceClaim string    `json:"sourceClaim,omitempty"`
	ReadyToUse  bool      `json:"readyToUse"`
	Taken       time.Time `json:"taken,omitzero"`
}

// GPUUsage is one GPU's use over the scan window, from DCGM exporter
// metrics.
type GPUUsage struct {
	Node string `json:"node"`
	GPU  string `json:"gpu"` // the exporter's gpu index or UUID
	// Pod and PodNamespace are the pod the exporter attributes the GPU to.
	Pod          string `json:"pod,omitempty"`
	PodNamespace string `json:"podNamespace,omitempty"`
	// Metric names the utilisation source: DCGM_FI_PROF_GR_ENGINE_ACTIVE
	// where the exporter has profiling metrics, else DCGM_FI_DEV_GPU_UTIL.
	Metric string `json:"metric"`
	// MeanUtilisation and MaxUtilisation are fractions (0–1) over Window.
	MeanUtilisation float64       `json:"meanUtilisation"`
	MaxUtilisation  float64       `json:"maxUtilisation"`
	MemoryUsedMiB   float64       `json:"memoryUsedMiB"`
	Window          time.Duration `json:"window"`
}

// Validate checks what every consumer relies on: the identifying fields, a
// known kind, and the one kind-specific part that matches it. A snapshot
// reader refuses a line that fails it, naming the line.
func (r *Resource) Validate() error {
	if r.ID == "" || r.Account == "" || r.Cloud == "" {
		return fmt.Errorf("%s resource without id, account or cloud", r.Kind)
	}
	switch r.Cloud {
	case CloudAWS, CloudAzure, CloudGCP, CloudKube:
	default:
		return fmt.Errorf("resource %s: cloud %q: want aws, azure, gcp or kubernetes", r.ID, r.Cloud)
	}
	parts := map[Kind]bool{
		KindInstance: r.Instance != nil, KindDisk: r.Disk != nil, KindSnapshot: r.Snapshot != nil,
		KindBucket: r.Bucket != nil, KindKey: r.Key != nil, KindPod: r.Pod != nil, KindNode: r.Node != nil,
		KindVolumeClaim: r.Claim != nil, KindWorkload: r.Workload != nil, KindGPUUsage: r.GPUUsage != nil,
		KindVolumeSnapshot: r.VolumeSnapshot != nil, KindNamespace: false,
	}
	own, known := parts[r.Kind]
	if !known {
		return fmt.Errorf("resource %s: unknown kind %q", r.ID, r.Kind)
	}
	n := 0
	for _, set := range parts {
		if set {
			n++
		}
	}
	switch {
	case r.Kind == KindNamespace && n != 0:
		return fmt.Errorf("resource %s: a Namespace carries no kind-specific part", r.ID)
	case r.Kind != KindNamespace && (!own || n != 1):
		return fmt.Errorf("resource %s: kind %s wants exactly its own part set, found %d parts", r.ID, r.Kind, n)
	}
	return nil
}
