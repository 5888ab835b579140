package policy

import (
	"slices"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Input is the document policies see as `input`. Its JSON Schema is
// docs/policy-input.schema.json, generated from these types (see Schema).
type Input struct {
	// Request is who asks and how; empty offline and in audits.
	Request Request `json:"request" doc:"Who asks and how (the AdmissionRequest's userInfo and operation); empty offline."`
	// Namespace is the object's namespace and its labels, when known.
	Namespace Namespace `json:"namespace" doc:"The object's namespace and its labels, when known."`
	// Workload is the extracted workload, flattened for policy authors.
	Workload Workload `json:"workload" doc:"The GPU workload extracted from the object (internal/workload), flattened for policy authors."`
	// Evidence is the encryption and location evidence of volumes and datasets.
	Evidence encryption.Evidence `json:"evidence" doc:"Encryption and location evidence of each volume and dataset (internal/encryption)."`
	// Placement is what phase two adds to the input: Evaluate ignores it,
	// Evaluation.Placed supplies it. It is a field here so that the schema
	// documents input.placement with the rest of the input.
	Placement *placement.Placement `json:"placement,omitempty" doc:"The chosen placement; present only when rules that read it are evaluated after placement."`
	// Object is the raw Kubernetes object, for rules that need a field the
	// Workload does not carry.
	Object map[string]any `json:"object,omitempty" doc:"The raw Kubernetes object as submitted."`
}

// Request mirrors the parts of an AdmissionRequest policies may read.
type Request struct {
	UID       string   `json:"uid,omitempty"`
	Operation string   `json:"operation,omitempty" doc:"CREATE, UPDATE, ... (empty offline)."`
	Username  string   `json:"username,omitempty"`
	Groups    []string `json:"groups,omitempty" doc:"The requesting user's groups."`
	DryRun    bool     `json:"dryRun,omitempty"`
}

// Namespace is the object's namespace.
type Namespace struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Workload is the policy view of a workload.Workload: plain strings, sums
// precomputed, pins reduced to the values they allow.
type Workload struct {
	APIVersion         string   `json:"apiVersion"`
	Kind               string   `json:"kind"`
	Namespace          string   `json:"namespace,omitempty"`
	Name               string   `json:"name"`
	Team               string   `json:"team,omitempty" doc:"quartermaster.io/team, or the namespace label."`
	Class              string   `json:"class" doc:"training, inference or batch."`
	Interruptible      bool     `json:"interruptible" doc:"Spot capacity acceptable."`
	ExpectedHours      float64  `json:"expectedHours,omitempty" doc:"quartermaster.io/expected-duration in hours (0 when not given)."`
	Datasets           []string `json:"datasets,omitempty"`
	DatasetSizeBytes   int64    `json:"datasetSizeBytes,omitempty"`
	DataClassification string   `json:"dataClassification,omitempty" doc:"public, internal, confidential or restricted; empty when not annotated."`
	Residency          []string `json:"residency,omitempty" doc:"Jurisdictions the data must stay in."`
	GPUModels          []string `json:"gpuModels,omitempty" doc:"Acceptable canonical GPU models; empty means any."`
	// TotalGPUs counts whole GPUs over the gang; MIG slices count as their
	// fraction of a GPU.
	TotalGPUs float64 `json:"totalGPUs" doc:"GPUs of the whole gang (replicas × GPUs per replica; MIG slices as fractions)."`
	// GPUReplicas is the number of replicas that ask for GPUs.
	GPUReplicas int64     `json:"gpuReplicas"`
	PodSets     []PodSet  `json:"podSets"`
	Pin         Pin       `json:"pin" doc:"What the object's own node selectors and required node affinity allow."`
	Annotations StringMap `json:"annotations,omitempty"`
}

// StringMap is a map of strings (annotations, labels).
type StringMap = map[string]string

// PodSet is one group of identical replicas.
type PodSet struct {
	Name           string   `json:"name"`
	Replicas       int32    `json:"replicas"`
	GPUResource    string   `json:"gpuResource,omitempty" doc:"e.g. nvidia.com/gpu or nvidia.com/mig-1g.10gb."`
	GPUsPerReplica int64    `json:"gpusPerReplica" doc:"Whole GPUs, or MIG instances when migProfile is set."`
	MIGProfile     string   `json:"migProfile,omitempty"`
	CPUMilli       int64    `json:"cpuMilli"`
	MemoryBytes    int64    `json:"memoryBytes"`
	Images         []string `json:"images,omitempty"`
	ServiceAccount string   `json:"serviceAccount" doc:"The pod's service account; empty means default."`
	HostNetwork    bool     `json:"hostNetwork"`
	HostPID        bool     `json:"hostPID"`
	Privileged     bool     `json:"privileged" doc:"Any container runs privileged."`
	Volumes        []Volume `json:"volumes,omitempty"`
}

// Volume is one pod volume.
type Volume struct {
	Name         string `json:"name"`
	Kind         string `json:"kind" doc:"persistentVolumeClaim, ephemeral, emptyDir, hostPath, configMap, ..."`
	ClaimName    string `json:"claimName,omitempty"`
	StorageClass string `json:"storageClass,omitempty"`
}

// Pin lists the values the workload's own pin allows, per field; a nil list
// means that field is not pinned.
type Pin struct {
	Clouds        []string `json:"clouds,omitempty"`
	Regions       []string `json:"regions,omitempty"`
	CapacityTypes []string `json:"capacityTypes,omitempty"`
}

// NewWorkload flattens a workload for policy.
func NewWorkload(w *workload.Workload) Workload {
	out := Workload{
		APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Team: w.Team,
		Class: string(w.Class), Interruptible: w.Interruptible, ExpectedHours: w.ExpectedDuration.Hours(),
		Datasets: w.Datasets, DatasetSizeBytes: w.DatasetSizeBytes, DataClassification: w.DataClassification,
		Residency: w.Residency, GPUModels: w.GPUModels, Annotations: w.Annotations,
		PodSets: make([]PodSet, len(w.PodSets)),
	}
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		p := PodSet{
			Name: ps.Name, Replicas: ps.Replicas, GPUResource: ps.GPU.Resource, GPUsPerReplica: ps.GPU.Count,
			CPUMilli: ps.CPUMilli, MemoryBytes: ps.MemoryBytes, Images: ps.Images, ServiceAccount: ps.ServiceAccount,
			HostNetwork: ps.HostNetwork, HostPID: ps.HostPID, Privileged: ps.Privileged,
		}
		if len(ps.Volumes) > 0 {
			p.Volumes = make([]Volume, len(ps.Volumes))
			for j, v := range ps.Volumes {
				p.Volumes[j] = Volume{Name: v.Name, Kind: v.Kind, ClaimName: v.ClaimName, StorageClass: v.StorageClass}
			}
		}
		if ps.GPU.Count > 0 {
			gpus := float64(ps.GPU.Count)
			if ps.GPU.MIG != nil {
				p.MIGProfile = ps.GPU.MIG.Name
				gpus *= ps.GPU.MIG.Fraction()
			}
			out.TotalGPUs += gpus * float64(ps.Replicas)
			out.GPUReplicas += int64(ps.Replicas)
		}
		out.PodSets[i] = p
	}
	// The gang lands in one place, so what it may take is what every GPU
	// pod set's pin allows.
	first := true
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count == 0 {
			continue
		}
		p := pinOf(&w.PodSets[i].Pin)
		if first {
			out.Pin, first = p, false
			continue
		}
		out.Pin.Clouds = intersectPinned(out.Pin.Clouds, p.Clouds)
		out.Pin.Regions = intersectPinned(out.Pin.Regions, p.Regions)
		out.Pin.CapacityTypes = intersectPinned(out.Pin.CapacityTypes, p.CapacityTypes)
	}
	return out
}

// intersectPinned intersects two pinned lists; nil means unpinned.
func intersectPinned(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := []string{}
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// pinOf reduces the ORed terms of a pin to the values each field may take:
// a field is pinned only when every term constrains it with In.
func pinOf(p *workload.Pin) Pin {
	var out Pin
	if p.IsZero() {
		return out
	}
	fields := [...]struct {
		f   workload.Field
		dst *[]string
	}{{workload.FieldCloud, &out.Clouds}, {workload.FieldRegion, &out.Regions}, {workload.FieldCapacityType, &out.CapacityTypes}}
	for _, fd := range fields {
		var union []string
		pinned := true
		for _, term := range p.Terms {
			found := false
			for _, r := range term {
				if r.Field == fd.f && r.Operator == "In" {
					found = true
					for _, v := range r.Values {
						if !slices.Contains(union, v) {
							union = append(union, v)
						}
					}
				}
			}
			if !found {
				pinned = false
				break
			}
		}
		if pinned {
			*fd.dst = union
		}
	}
	return out
}
