package kube

import (
	"context"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Annotations and labels the source reads (contract 4.1 and 4.2).
const (
	annotationTeam     = "quartermaster.io/team"
	annotationDecision = "quartermaster.io/decision"
	labelZone          = "topology.kubernetes.io/zone"
	// labelInstanceTypeBeta is the label nodes carried before 1.17; some
	// clouds' node images still set only it.
	labelInstanceTypeBeta = "beta.kubernetes.io/instance-type"
	defaultClassAnnot     = "storageclass.kubernetes.io/is-default-class"
)

// isGPUResource is the extended resource names that mean "a GPU", as the
// admission extractor counts them (workload.ResourceNvidiaGPU and
// ResourceAMDGPU, and NVIDIA's MIG slices).
func isGPUResource(name corev1.ResourceName) bool {
	n := string(name)
	return n == workload.ResourceNvidiaGPU || n == workload.ResourceAMDGPU || strings.HasPrefix(n, "nvidia.com/mig-")
}

// gpus keeps the GPU resources of a resource list, by name; nil when none.
func gpus(list corev1.ResourceList) map[string]int64 {
	var out map[string]int64
	for name, q := range list {
		if !isGPUResource(name) || q.Value() <= 0 {
			continue
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[string(name)] = q.Value()
	}
	return out
}

// podGPUs is what a pod asks for, by resource name, as the scheduler counts
// it: the sum over its containers (each the request, or the limit where no
// request is set) or the largest init container, whichever is more.
func podGPUs(spec *corev1.PodSpec) map[string]int64 {
	effective := func(c *corev1.Container) map[string]int64 {
		g := gpus(c.Resources.Requests)
		for name, n := range gpus(c.Resources.Limits) {
			if _, ok := g[name]; !ok {
				if g == nil {
					g = map[string]int64{}
				}
				g[name] = n
			}
		}
		return g
	}
	var out map[string]int64
	add := func(name string, n int64, keepMax bool) {
		if out == nil {
			out = map[string]int64{}
		}
		if keepMax {
			out[name] = max(out[name], n)
		} else {
			out[name] += n
		}
	}
	for i := range spec.Containers {
		for name, n := range effective(&spec.Containers[i]) {
			add(name, n, false)
		}
	}
	for i := range spec.InitContainers {
		for name, n := range effective(&spec.InitContainers[i]) {
			add(name, n, true)
		}
	}
	return out
}

// podClaims are the PersistentVolumeClaims a pod mounts: named claims, and
// the claims the API server makes for its generic ephemeral volumes
// (<pod>-<volume>).
func podClaims(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, p.Name+"-"+v.Name)
		}
	}
	return out
}

// holdsVolumes is false for pods that finished: a claim mounted only by
// them is orphaned, whatever their records say.
func holdsVolumes(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// controllerOf is the owner reference that manages an object, nil when none.
func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	return nil
}

// owners maps an intermediate controller, "Kind/namespace/name" (a
// ReplicaSet, a Job, a RayCluster), to its own controller, "Kind/name":
// the only state the scan keeps to resolve owner chains.
type owners map[string]string

// add records obj's controller when it has one.
func (o owners) add(kind, namespace, name string, refs []metav1.OwnerReference) {
	if c := controllerOf(refs); c != nil {
		o[kind+"/"+namespace+"/"+name] = c.Kind + "/" + c.Name
	}
}

// maxOwnerDepth bounds the walk up an owner chain: the longest real one is
// Pod → Job → CronJob (or Pod → RayCluster → RayJob); a longer one is a
// loop or a chain the auditor need not follow further.
const maxOwnerDepth = 8

// top is the top of the owner chain that starts at a pod's controller,
// "Kind/name" (ReplicaSet → Deployment, Job → CronJob); "" for a pod no
// controller manages.
func (o owners) top(namespace string, refs []metav1.OwnerReference) string {
	c := controllerOf(refs)
	if c == nil {
		return ""
	}
	cur := c.Kind + "/" + c.Name
	for range maxOwnerDepth {
		kind, name, _ := strings.Cut(cur, "/")
		up, ok := o[kind+"/"+namespace+"/"+name]
		if !ok {
			break
		}
		cur = up
	}
	return cur
}

// cloudOfProviderID reads the cloud from a node's spec.providerID
// (aws:///us-east-1a/i-…, azure:///subscriptions/…, gce://project/zone/name);
// "" when it names none of the three (kind://, kwok://, empty).
func cloudOfProviderID(id string) inventory.Cloud {
	switch {
	case strings.HasPrefix(id, "aws://"):
		return inventory.CloudAWS
	case strings.HasPrefix(id, "azure://"):
		return inventory.CloudAzure
	case strings.HasPrefix(id, "gce://"):
		return inventory.CloudGCP
	}
	return ""
}

// clusterCloud is the cloud of every record of a cluster: the one cloud
// its nodes' provider IDs name, or CloudKube when they name none (a bare
// metal or local cluster) or several (a fleet of fake nodes, a cluster
// spanning clouds through virtual kubelets).
func clusterCloud(providerIDs []string) inventory.Cloud {
	found := inventory.Cloud("")
	for _, id := range providerIDs {
		c := cloudOfProviderID(id)
		switch {
		case c == "":
		case found == "":
			found = c
		case c != found:
			return inventory.CloudKube
		}
	}
	if found == "" {
		return inventory.CloudKube
	}
	return found
}

// capacityProfiles are the label conventions tried, in order, when no
// profile is configured: the first whose capacity-type label a node
// carries says whether it is spot.
var capacityProfiles = []string{
	workload.ProfileQuartermaster, workload.ProfileKarpenter, workload.ProfileEKS, workload.ProfileGKE, workload.ProfileAKS,
}

// nodeLabels reads a node's instance type, capacity type (spot or
// on-demand), region and zone. With keys nil the capacity type is taken
// from the first profile whose label the node carries, and is "" when it
// carries none (a single-cloud profile would call that on-demand; without
// one, nothing says so). With keys set, the profile decides, exactly as
// placement reads the same node.
func nodeLabels(labels map[string]string, keys *workload.LabelKeys) (instanceType, capacity, region, zone string) {
	k := workload.DefaultLabelKeys()
	if keys != nil {
		k = keys.Complete()
	}
	instanceType = labels[k.InstanceType]
	if instanceType == "" {
		instanceType = labels[labelInstanceTypeBeta]
	}
	region, zone = labels[k.Region], labels[labelZone]
	if keys != nil {
		return instanceType, k.CapacityOf(labels[k.CapacityType]), region, zone
	}
	for _, name := range capacityProfiles {
		p, _ := workload.Profile(name)
		if v, ok := labels[p.CapacityType]; ok {
			return instanceType, p.CapacityOf(v), region, zone
		}
	}
	return instanceType, "", region, zone
}

// nodeReady is the node's Ready condition.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// classes is the cluster's StorageClasses as encryption evidence reads
// them, and the one claim being judged: an encryption.ClaimSource, so that
// a claim's encryption is read by the same provisioner rules admission
// uses (encryption's classEvidence), not by a second copy of them.
type classes struct {
	byName map[string]*encryption.StorageClass
	def    *encryption.StorageClass
	claim  *encryption.Claim
}

var _ encryption.ClaimSource = (*classes)(nil)

func newClasses() *classes { return &classes{byName: map[string]*encryption.StorageClass{}} }

// add records a StorageClass; the last one marked default wins, as the
// API server's DefaultStorageClass admission picks the newest.
func (c *classes) add(name, provisioner string, params, annotations map[string]string) {
	sc := &encryption.StorageClass{Name: name, Provisioner: provisioner, Parameters: maps.Clone(params),
		Default: annotations[defaultClassAnnot] == "true"}
	c.byName[name] = sc
	if sc.Default {
		c.def = sc
	}
}

func (c *classes) Claim(namespace, name string) (*encryption.Claim, bool) {
	if c.claim == nil || c.claim.Namespace != namespace || c.claim.Name != name {
		return nil, false
	}
	return c.claim, true
}

func (c *classes) StorageClass(name string) (*encryption.StorageClass, bool) {
	sc, ok := c.byName[name]
	return sc, ok
}

func (c *classes) DefaultStorageClass() (*encryption.StorageClass, bool) { return c.def, c.def != nil }

// encryptionOf is a claim's encryption from its StorageClass's provisioner
// parameters (className nil: the cluster's default class). The evidence's
// unknown state (an unknown provisioner, a missing class, a pre-provisioned
// volume) is reported as not encrypted: nothing shows that it is, and a
// compliance check must not pass on it.
func (c *classes) encryptionOf(namespace, name string, className *string) inventory.Encryption {
	c.claim = &encryption.Claim{Namespace: namespace, Name: name, StorageClass: className}
	defer func() { c.claim = nil }()
	col := encryption.Collector{Claims: c}
	ev, err := col.Collect(context.Background(), &workload.Workload{Namespace: namespace, PodSets: []workload.PodSet{{
		Name: "claim", Volumes: []workload.Volume{{Name: name, Kind: "persistentVolumeClaim", ClaimName: name}},
	}}})
	if err != nil || len(ev.Volumes) != 1 || ev.Volumes[0].State != encryption.StateEncrypted {
		return inventory.Encryption{}
	}
	v := ev.Volumes[0]
	return inventory.Encryption{Encrypted: true, KeyKind: v.KeyKind, KeyID: v.KeyID}
}

// gib is a byte count in GiB, rounded up: a 1.5 GiB volume is billed as 2.
func gib(bytes int64) int64 {
	const g = 1 << 30
	return (bytes + g - 1) / g
}
