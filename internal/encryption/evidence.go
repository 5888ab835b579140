package encryption

// Encryption states of a volume or dataset. Unknown is not "unencrypted":
// policies decide whether to fail closed on it.
const (
	StateEncrypted   = "encrypted"
	StateUnencrypted = "unencrypted"
	StateUnknown     = "unknown"
)

// Key kinds: who controls the key that encrypts the data.
const (
	KeyProviderManaged = "provider-managed"
	KeyCustomerManaged = "customer-managed"
)

// Evidence is what is known about a workload's data.
type Evidence struct {
	Volumes  []VolumeEvidence  `json:"volumes"`
	Datasets []DatasetEvidence `json:"datasets"`
}

// VolumeEvidence describes one pod volume of one pod set.
type VolumeEvidence struct {
	// PodSet and Name identify the volume within the workload.
	PodSet string `json:"podSet"`
	Name   string `json:"name"`
	// Kind is the volume source (persistentVolumeClaim, ephemeral, emptyDir,
	// hostPath, configMap, ...).
	Kind string `json:"kind"`
	// Persistent is true for volumes that hold data beyond the pod on a disk
	// (PVCs and generic ephemeral volumes): the ones encryption rules judge.
	Persistent bool `json:"persistent"`
	// NodeLocal is true for emptyDir and hostPath: the data sits on the
	// node's own disk and follows its encryption.
	NodeLocal    bool   `json:"nodeLocal"`
	ClaimName    string `json:"claimName,omitempty"`
	StorageClass string `json:"storageClass,omitempty"`
	Provisioner  string `json:"provisioner,omitempty"`
	// State is encrypted, unencrypted or unknown.
	State string `json:"state"`
	// KeyKind is provider-managed or customer-managed when State is encrypted.
	KeyKind string `json:"keyKind,omitempty"`
	// KeyID is the customer key (KMS key ARN, Cloud KMS key, disk
	// encryption set) when there is one.
	KeyID string `json:"keyId,omitempty"`
	// Detail says how the state was established, for messages.
	Detail string `json:"detail"`
}

// DatasetEvidence describes one dataset location of the workload.
type DatasetEvidence struct {
	// Location is the URI as annotated, e.g. s3://corpus-eu/v3/.
	Location string `json:"location"`
	Scheme   string `json:"scheme"`
	Bucket   string `json:"bucket"`
	// Known is false when the inventory has no facts about the bucket.
	Known        bool   `json:"known"`
	Cloud        string `json:"cloud,omitempty"`
	Region       string `json:"region,omitempty"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	State        string `json:"state"`
	KeyKind      string `json:"keyKind,omitempty"`
	SizeBytes    int64  `json:"sizeBytes,omitempty"`
	Detail       string `json:"detail"`
}
