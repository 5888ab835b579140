package fakenode

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Labels and annotations that KWOK and GPU tooling read, beside the
// configurable placement keys of workload.LabelKeys.
const (
	// KWOKAnnotation marks a node as fake; KWOK is started with
	// --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake.
	KWOKAnnotation = "kwok.x-k8s.io/node"
	// GPUProductLabel is the label NVIDIA's GPU feature discovery sets; here
	// it carries the catalog's canonical model name (H100, A100-80GB, ...).
	GPUProductLabel = "nvidia.com/gpu.product"
	// GPUCountLabel mirrors GPU feature discovery's count label.
	GPUCountLabel = "nvidia.com/gpu.count"
	// GPUResource is the extended resource GPU pods request.
	GPUResource = "nvidia.com/gpu"
	// OfferAnnotation records which catalog offer a node stands for.
	OfferAnnotation = "quartermaster.io/offer"
	// ManagedByLabel lets scripts delete exactly the nodes they generated.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel on generated nodes.
	ManagedByValue = "quartermaster-fakenode"
	// podsPerNode is the kubelet's default pod limit.
	podsPerNode = "110"
)

// Selector chooses offers and how many nodes each gets. Empty lists match
// everything.
type Selector struct {
	Clouds        []string
	Regions       []string
	Models        []string
	InstanceTypes []string
	// CapacityTypes lists "on-demand" and/or "spot"; spot nodes are made only
	// for offers with a spot price.
	CapacityTypes []costing.CapacityType
	// Count is the number of nodes per offer and capacity type (at least 1).
	Count int
}

// Nodes returns the Node objects for every offer the selector matches, in
// catalog order, each node once per capacity type and index.
func Nodes(offers []costing.Offer, sel Selector, keys workload.LabelKeys) []map[string]any {
	capTypes := sel.CapacityTypes
	if len(capTypes) == 0 {
		capTypes = []costing.CapacityType{costing.OnDemand, costing.Spot}
	}
	count := max(sel.Count, 1)
	var nodes []map[string]any
	for _, o := range offers {
		if !matches(sel.Clouds, o.Cloud) || !matches(sel.Regions, o.Region) ||
			!matches(sel.Models, o.GPUModel) || !matches(sel.InstanceTypes, o.InstanceType) {
			continue
		}
		for _, ct := range capTypes {
			if _, ok := o.Price(ct); !ok {
				continue
			}
			for i := range count {
				nodes = append(nodes, Node(o, ct, i, keys))
			}
		}
	}
	return nodes
}

func matches(allowed []string, v string) bool {
	return len(allowed) == 0 || slices.Contains(allowed, v)
}

// maxName is the longest node name: the name is also the value of the
// kubernetes.io/hostname label, and label values stop at 63 characters.
const maxName = 63

// Name is the node name of the i-th node of an offer and capacity type, e.g.
// kwok-gcp-us-central1-a2-highgpu-1g-1xa100-spot-0. GPU model and count are
// part of it because one GCP host type carries different GPUs. Names longer
// than 63 characters keep their start and end around a hash of the whole, so
// they stay readable, distinct and valid label values.
func Name(o costing.Offer, ct costing.CapacityType, i int) string {
	capacity := "od"
	if ct == costing.Spot {
		capacity = "spot"
	}
	parts := []string{"kwok", o.Cloud, o.Region, o.Zone, o.InstanceType, strconv.Itoa(o.GPUCount) + "x" + o.GPUModel}
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
	head := dnsLabel(strings.Join(parts, "-"))
	tail := "-" + capacity + "-" + strconv.Itoa(i)
	if len(head)+len(tail) <= maxName {
		return head + tail
	}
	sum := sha256.Sum256([]byte(head))
	hash := "-" + hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(head[:maxName-len(tail)-len(hash)], "-.") + hash + tail
}

// dnsLabel lowercases s and replaces every character a node name may not hold.
func dnsLabel(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

// Node returns the i-th fake node of an offer bought as ct, labelled and
// tainted as the label profile keys says nodes of its kind are: no cloud
// label in a single-cloud profile, the profile's capacity-type value (none
// for GKE's and AKS's on-demand nodes), the profile's spot taint if any.
func Node(o costing.Offer, ct costing.CapacityType, i int, keys workload.LabelKeys) map[string]any {
	keys = keys.Complete()
	name := Name(o, ct, i)
	labels := map[string]any{
		keys.Region:              o.Region,
		keys.InstanceType:        o.InstanceType,
		GPUProductLabel:          o.GPUModel,
		GPUCountLabel:            strconv.Itoa(o.GPUCount),
		ManagedByLabel:           ManagedByValue,
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	if keys.Cloud != "" {
		labels[keys.Cloud] = o.Cloud
	}
	if v := keys.CapacityValue(string(ct)); v != "" {
		labels[keys.CapacityType] = v
	}
	if o.Zone != "" {
		labels["topology.kubernetes.io/zone"] = o.Zone
	}
	resources := map[string]any{
		"cpu":       cpuQuantity(o.VCPUs),
		"memory":    memoryQuantity(o.MemoryGiB),
		GPUResource: strconv.Itoa(o.GPUCount),
		"pods":      podsPerNode,
	}
	spec := map[string]any{}
	if ct == costing.Spot && keys.SpotTaint != "" {
		// Spot capacity is tainted so that only workloads placed on spot land
		// there; the admission patch adds the matching toleration.
		value := keys.SpotTaintValue
		if value == "" {
			value = "true" // tolerated with Exists
		}
		spec["taints"] = []any{map[string]any{"key": keys.SpotTaint, "value": value, "effect": "NoSchedule"}}
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Node",
		"metadata": map[string]any{
			"name":   name,
			"labels": labels,
			"annotations": map[string]any{
				KWOKAnnotation:  "fake",
				OfferAnnotation: o.Key(),
			},
		},
		"spec": spec,
		"status": map[string]any{
			"capacity":    resources,
			"allocatable": resources,
			"nodeInfo": map[string]any{
				"architecture":     "amd64",
				"operatingSystem":  "linux",
				"kubeletVersion":   "fake",
				"kubeProxyVersion": "fake",
			},
		},
	}
}

// cpuQuantity writes vCPUs as whole cores or millicores.
func cpuQuantity(vcpus float64) string {
	if vcpus == math.Trunc(vcpus) {
		return strconv.FormatFloat(vcpus, 'f', 0, 64)
	}
	return fmt.Sprintf("%dm", int64(math.Round(vcpus*1000)))
}

// memoryQuantity writes GiB as Gi or, for fractions, Mi.
func memoryQuantity(gib float64) string {
	if gib == math.Trunc(gib) {
		return strconv.FormatFloat(gib, 'f', 0, 64) + "Gi"
	}
	return fmt.Sprintf("%dMi", int64(math.Round(gib*1024)))
}
