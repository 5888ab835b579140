package clusterstate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Karpenter's well-known labels, which NodePool requirements use whatever
// label profile the cluster's nodes follow.
// https://karpenter.sh/docs/concepts/scheduling/#well-known-labels
const (
	karpenterCapacityType = "karpenter.sh/capacity-type"
	labelRegion           = "topology.kubernetes.io/region"
	labelZone             = "topology.kubernetes.io/zone"
	labelInstanceType     = "node.kubernetes.io/instance-type"
	awsInstanceFamily     = "karpenter.k8s.aws/instance-family"
	awsInstanceGPUCount   = "karpenter.k8s.aws/instance-gpu-count"
	awsInstanceCPU        = "karpenter.k8s.aws/instance-cpu"
	awsInstanceMemory     = "karpenter.k8s.aws/instance-memory" // MiB
	azureSKUName          = "karpenter.azure.com/sku-name"
	azureSKUGPUCount      = "karpenter.azure.com/sku-gpu-count"
)

// NodePool is what the provisionable filter reads of a Karpenter NodePool
// (karpenter.sh/v1): its requirements, with its template labels as In
// requirements of one value (Karpenter treats them alike).
type NodePool struct {
	Name         string
	Requirements []Requirement
}

// Requirement is one node selector requirement of a NodePool.
type Requirement struct {
	Key      string
	Operator string
	Values   []string
}

// ParseNodePool reads a NodePool from its unstructured form: the informer's
// and the cluster-state file's.
func ParseNodePool(obj map[string]any) (NodePool, error) {
	meta, _ := obj["metadata"].(map[string]any)
	np := NodePool{}
	np.Name, _ = meta["name"].(string)
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	tmeta, _ := tmpl["metadata"].(map[string]any)
	labels, _ := tmeta["labels"].(map[string]any)
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := labels[k].(string)
		if !ok {
			return NodePool{}, fmt.Errorf("NodePool %s: spec.template.metadata.labels[%s]: want a string", np.Name, k)
		}
		np.Requirements = append(np.Requirements, Requirement{Key: k, Operator: "In", Values: []string{v}})
	}
	tspec, _ := tmpl["spec"].(map[string]any)
	reqs, _ := tspec["requirements"].([]any)
	for i, r := range reqs {
		rm, ok := r.(map[string]any)
		if !ok {
			return NodePool{}, fmt.Errorf("NodePool %s: spec.template.spec.requirements[%d]: want an object", np.Name, i)
		}
		req := Requirement{}
		req.Key, _ = rm["key"].(string)
		req.Operator, _ = rm["operator"].(string)
		switch req.Operator {
		case "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt":
		default:
			return NodePool{}, fmt.Errorf("NodePool %s: requirement %s: operator %q: want In, NotIn, Exists, DoesNotExist, Gt or Lt", np.Name, req.Key, req.Operator)
		}
		vals, _ := rm["values"].([]any)
		for _, v := range vals {
			s, ok := v.(string)
			if !ok {
				return NodePool{}, fmt.Errorf("NodePool %s: requirement %s: values: want strings", np.Name, req.Key)
			}
			req.Values = append(req.Values, s)
		}
		np.Requirements = append(np.Requirements, req)
	}
	return np, nil
}

// nodeKey is where a Ready node runs and how it was bought.
type nodeKey struct {
	cloud, region, instanceType string
	capacity                    costing.CapacityType
}

// keyOfNode reads a node's key from its labels under the profile.
func keyOfNode(keys workload.LabelKeys, labels map[string]string) nodeKey {
	return nodeKey{cloud: keys.CloudOf(labels), region: labels[keys.Region], instanceType: labels[keys.InstanceType],
		capacity: costing.CapacityType(keys.CapacityOf(labels[keys.CapacityType]))}
}

// provisionable is an immutable answer to "can the cluster run this
// offer?": the keys of its Ready nodes, precomputed into a set, and its
// NodePools. A lookup hashes four strings and walks the pools' few
// requirements; it allocates nothing.
type provisionable struct {
	keys  workload.LabelKeys
	nodes map[nodeKey]struct{}
	pools []NodePool
}

var _ placement.Provisioner = (*provisionable)(nil)

func newProvisionable(keys workload.LabelKeys, nodes []nodeKey, pools []NodePool) *provisionable {
	p := &provisionable{keys: keys, nodes: make(map[nodeKey]struct{}, len(nodes)), pools: pools}
	for _, n := range nodes {
		p.nodes[n] = struct{}{}
	}
	return p
}

// Provisionable reports whether a Ready node of the offer and capacity type
// exists, or a NodePool admits them. In a single-cloud profile, offers of
// other clouds never are.
func (p *provisionable) Provisionable(o *costing.Offer, ct costing.CapacityType) bool {
	if p.keys.Cloud == "" && o.Cloud != p.keys.ClusterCloud {
		return false
	}
	if _, ok := p.nodes[nodeKey{o.Cloud, o.Region, o.InstanceType, ct}]; ok {
		return true
	}
	for i := range p.pools {
		if p.admits(&p.pools[i], o, ct) {
			return true
		}
	}
	return false
}

// admits reports whether every requirement of the pool allows the offer.
// A requirement on a label the offer does not define (architecture, a
// custom label the pool puts on its nodes) does not limit which offers the
// pool launches, with one exception: in a multi-cloud profile the pool must
// say which cloud it launches in (by a requirement or label on the cloud
// key), as Karpenter launches no node for a pod that requires a label its
// pool does not define.
func (p *provisionable) admits(np *NodePool, o *costing.Offer, ct costing.CapacityType) bool {
	cloudDefined := p.keys.Cloud == ""
	for i := range np.Requirements {
		r := &np.Requirements[i]
		v, known := p.offerLabel(r.Key, o, ct)
		if !known {
			continue
		}
		if r.Key == p.keys.Cloud {
			cloudDefined = true
		}
		if !r.allows(v) {
			return false
		}
	}
	return cloudDefined
}

// labelValue is a label value of an offer's node: a string, or a number
// kept as one so that no formatting happens on the request path.
type labelValue struct {
	s     string
	n     int64
	isNum bool
}

// offerLabel is the value a node of the offer would carry for key, and
// whether it is known.
func (p *provisionable) offerLabel(key string, o *costing.Offer, ct costing.CapacityType) (labelValue, bool) {
	str := func(s string) (labelValue, bool) { return labelValue{s: s}, true }
	num := func(n int64) (labelValue, bool) { return labelValue{n: n, isNum: true}, true }
	switch key {
	case "":
		return labelValue{}, false
	case p.keys.Cloud:
		return str(o.Cloud)
	case labelRegion, p.keys.Region:
		return str(o.Region)
	case labelInstanceType, p.keys.InstanceType:
		return str(o.InstanceType)
	case karpenterCapacityType:
		return str(string(ct))
	case labelZone:
		return labelValue{s: o.Zone}, o.Zone != "" // an offer without a zone is in any zone of its region
	case awsInstanceFamily:
		family, _, _ := strings.Cut(o.InstanceType, ".")
		return labelValue{s: family}, o.Cloud == "aws"
	case awsInstanceGPUCount, azureSKUGPUCount:
		return num(int64(o.GPUCount))
	case awsInstanceCPU:
		return num(int64(math.Round(o.VCPUs)))
	case awsInstanceMemory:
		return num(int64(math.Round(o.MemoryGiB * 1024)))
	case azureSKUName:
		return labelValue{s: o.InstanceType}, o.Cloud == "azure"
	}
	return labelValue{}, false
}

// allows evaluates the requirement on a label the node carries with value v.
func (r *Requirement) allows(v labelValue) bool {
	switch r.Operator {
	case "In":
		return slices.ContainsFunc(r.Values, v.equals)
	case "NotIn":
		return !slices.ContainsFunc(r.Values, v.equals)
	case "Exists":
		return true
	case "DoesNotExist":
		return false
	case "Gt", "Lt":
		if len(r.Values) != 1 || !v.isNum {
			return false
		}
		bound, err := strconv.ParseInt(r.Values[0], 10, 64)
		if err != nil {
			return false
		}
		if r.Operator == "Gt" {
			return v.n > bound
		}
		return v.n < bound
	}
	return false
}

func (v labelValue) equals(s string) bool {
	if !v.isNum {
		return v.s == s
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n == v.n
}
