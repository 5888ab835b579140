package workload

import (
	"time"
)

// Class says what kind of work a workload is; it changes defaults such as the
// estimated duration and whether inference sizing applies.
type Class string

// The workload classes.
const (
	Training  Class = "training"
	Inference Class = "inference"
	Batch     Class = "batch"
)

// Workload is one GPU workload: a gang of pod sets that must run together in
// one cloud and region.
type Workload struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	// Name is metadata.name, or metadata.generateName for objects that are
	// named by the API server.
	Name string `json:"name"`

	Team               string        `json:"team,omitempty"`
	Class              Class         `json:"class"`
	Interruptible      bool          `json:"interruptible"`
	ExpectedDuration   time.Duration `json:"expectedDuration,omitempty"`
	Datasets           []string      `json:"datasets,omitempty"`
	DatasetSizeBytes   int64         `json:"datasetSizeBytes,omitempty"`
	DataClassification string        `json:"dataClassification,omitempty"`
	Residency          []string      `json:"residency,omitempty"`
	// GPUModels are the acceptable canonical models in order of preference;
	// empty means any model.
	GPUModels []string      `json:"gpuModels,omitempty"`
	Inference *InferenceSLO `json:"inference,omitempty"`

	// PodSets hold the pod templates; each has its own Pin (see Allows and
	// Pinned for the whole gang).
	PodSets []PodSet `json:"podSets"`
	// Annotations are the object's own annotations, kept for the decision
	// record and for policies.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PodSet is a group of identical replicas within a workload: a Deployment's
// template, a PyTorchJob's Master or Worker, a Ray worker group.
type PodSet struct {
	// Name identifies the pod set within the workload, e.g. "Worker".
	Name string `json:"name"`
	// Pointer is the JSON pointer of the pod template within the object
	// ("" for a Pod, "/spec/template" for a Deployment).
	Pointer  string `json:"pointer"`
	Replicas int32  `json:"replicas"`
	// ReplicasPointer is the JSON pointer of the replica count field
	// ("/spec/replicas" for a Deployment), present or not; empty when the
	// kind has no such field (a Pod).
	ReplicasPointer string    `json:"replicasPointer,omitempty"`
	GPU             GPUDemand `json:"gpu"`
	// CPUMilli and MemoryBytes are per replica.
	CPUMilli    int64 `json:"cpuMilli"`
	MemoryBytes int64 `json:"memoryBytes"`

	Images         []string          `json:"images,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	Volumes        []Volume          `json:"volumes,omitempty"`
	HostNetwork    bool              `json:"hostNetwork,omitempty"`
	HostPID        bool              `json:"hostPID,omitempty"`
	Privileged     bool              `json:"privileged,omitempty"`
	NodeSelector   map[string]string `json:"nodeSelector,omitempty"`
	Pin            Pin               `json:"pin"`
}

// GPUDemand is what one replica asks for.
type GPUDemand struct {
	// Resource is the extended resource name, e.g. nvidia.com/gpu.
	Resource string `json:"resource,omitempty"`
	// Count is whole GPUs, or MIG instances when MIG is set.
	Count int64 `json:"count"`
	// MIG is set when the replica asks for MIG slices instead of whole GPUs.
	MIG *MIGProfile `json:"mig,omitempty"`
}

// InferenceSLO holds the sizing inputs of contract 4.1.
type InferenceSLO struct {
	// RequestRate is requests per second.
	RequestRate float64 `json:"requestRate,omitempty"`
	// ServiceTime is the mean time to serve one request on ServiceTimeModel.
	ServiceTime      time.Duration `json:"serviceTime,omitempty"`
	ServiceTimeModel string        `json:"serviceTimeModel,omitempty"`
	// SLOQuantile is e.g. 0.99 for p99, with SLOLatency its bound.
	SLOQuantile float64       `json:"sloQuantile,omitempty"`
	SLOLatency  time.Duration `json:"sloLatency,omitempty"`
	// AutoReplicas is quartermaster.io/replicas: auto: admission chooses
	// the replica count with the offer, and sets it.
	AutoReplicas bool `json:"autoReplicas,omitempty"`
}

// Volume is one pod volume, reduced to what evidence and policy need.
type Volume struct {
	Name string `json:"name"`
	// Kind is the volume source: persistentVolumeClaim, ephemeral, emptyDir,
	// hostPath, configMap, secret, csi, ...
	Kind         string `json:"kind"`
	ClaimName    string `json:"claimName,omitempty"`
	StorageClass string `json:"storageClass,omitempty"`
}

// RequestsGPU reports whether any pod set asks for a GPU.
func (w *Workload) RequestsGPU() bool {
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count > 0 {
			return true
		}
	}
	return false
}

// TotalGPUReplicas is the number of replicas that ask for GPUs.
func (w *Workload) TotalGPUReplicas() int64 {
	var n int64
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count > 0 {
			n += int64(w.PodSets[i].Replicas)
		}
	}
	return n
}

// WholeGPUs is the whole GPUs the workload holds once all its replicas run,
// as quotas count them: replicas × GPUs per replica over its GPU pod sets;
// MIG slices are not whole GPUs and count nothing.
func (w *Workload) WholeGPUs() int64 {
	var n int64
	for i := range w.PodSets {
		if g := w.PodSets[i].GPU; g.Count > 0 && g.MIG == nil {
			n += int64(w.PodSets[i].Replicas) * g.Count
		}
	}
	return n
}

// ID is namespace/name, or kind/name for cluster-scoped objects.
func (w *Workload) ID() string {
	if w.Namespace == "" {
		return w.Kind + "/" + w.Name
	}
	return w.Namespace + "/" + w.Name
}
