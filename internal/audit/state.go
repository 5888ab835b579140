package audit

import (
	"math"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// state is what the joined checks need of the stream: small records of the
// resources they join, not the resources themselves.
type state struct {
	prices     *priceIndex
	thresholds Thresholds
	now        time.Time
	findings   []Finding

	namespaceLabels map[string]map[string]string // account/namespace → labels
	nodes           map[string]*nodeInfo         // account/node → node
	disks           map[string]*diskInfo         // account/disk ID → disk
	stopped         []*inventory.Resource        // stopped instances (few)
	pods            []*podInfo                   // GPU pods
	usage           []*inventory.Resource        // GPU usage records of idle GPUs
	workloads       []*workloadInfo              // workloads with a decision
	claims          []*inventory.Resource        // checkpoint claims
	snapshots       map[string]time.Time         // account/namespace/claim → newest ready snapshot
	buckets         []*inventory.Resource        // checkpoint buckets
}

type nodeInfo struct {
	cloud, region, instanceType, capacityType string
	gpus                                      int64
}

type diskInfo struct {
	cloud, volumeType string
	sizeGiB           int64
}

type podInfo struct {
	account, namespace, name, node, owner, team string
	gpus                                        int64
	start                                       time.Time
}

type workloadInfo struct {
	r        *inventory.Resource
	decision string
}

func newState(cat *costing.Catalog, t Thresholds, now time.Time) *state {
	return &state{prices: newPriceIndex(cat), thresholds: t, now: now,
		namespaceLabels: map[string]map[string]string{}, nodes: map[string]*nodeInfo{}, disks: map[string]*diskInfo{},
		snapshots: map[string]time.Time{}}
}

func (s *state) add(f Finding) { s.findings = append(s.findings, f) }

// index keeps what the joined checks need of r.
func (s *state) index(r *inventory.Resource) {
	key := r.Account + "/" + r.ID
	switch r.Kind {
	case inventory.KindNamespace:
		s.namespaceLabels[r.Account+"/"+r.ID] = r.Labels
	case inventory.KindNode:
		n := r.Node
		s.nodes[key] = &nodeInfo{cloud: cloudOfNode(r), region: r.Region, instanceType: n.InstanceType,
			capacityType: n.CapacityType, gpus: sum(n.GPUs)}
	case inventory.KindDisk:
		s.disks[key] = &diskInfo{cloud: string(r.Cloud), volumeType: r.Disk.Type, sizeGiB: r.Disk.SizeGiB}
		if r.Disk.AttachedTo == "" {
			s.unattachedDisk(r)
		}
	case inventory.KindInstance:
		if r.Instance.State == "stopped" && len(r.Instance.Disks) > 0 {
			s.stopped = append(s.stopped, r)
		}
	case inventory.KindPod:
		if g := sum(r.Pod.GPUs); g > 0 && r.Pod.Phase == "Running" {
			s.pods = append(s.pods, &podInfo{account: r.Account, namespace: r.Namespace, name: podName(r), node: r.Pod.NodeName,
				owner: r.Pod.Owner, team: teamOrNamespace(r), gpus: g, start: r.Pod.StartTime})
		}
	case inventory.KindGPUUsage:
		// Only idle GPUs are read again (waste, the idle share of the
		// cost): keeping every record would grow memory with the fleet.
		if u := r.GPUUsage; u.Pod != "" && u.MeanUtilisation < s.thresholds.IdleMean && u.MaxUtilisation < s.thresholds.IdlePeak {
			s.usage = append(s.usage, r)
		}
	case inventory.KindWorkload:
		if r.Workload.Decision != "" {
			s.workloads = append(s.workloads, &workloadInfo{r: r, decision: r.Workload.Decision})
		}
	case inventory.KindVolumeClaim:
		if isCheckpoint(r) {
			s.claims = append(s.claims, r)
		}
	case inventory.KindVolumeSnapshot:
		if v := r.VolumeSnapshot; v.ReadyToUse && v.SourceClaim != "" {
			k := r.Account + "/" + r.Namespace + "/" + v.SourceClaim
			if v.Taken.After(s.snapshots[k]) {
				s.snapshots[k] = v.Taken
			}
		}
	case inventory.KindBucket:
		if isCheckpoint(r) {
			s.buckets = append(s.buckets, r)
		}
	}
}

// cloudOfNode is the cloud a node runs in, from its provider ID
// (aws:///us-east-1a/i-…, azure:///subscriptions/…, gce://project/zone/name),
// else the resource's cloud.
func cloudOfNode(r *inventory.Resource) string {
	id := r.Node.ProviderID
	switch {
	case strings.HasPrefix(id, "aws://"):
		return "aws"
	case strings.HasPrefix(id, "azure://"):
		return "azure"
	case strings.HasPrefix(id, "gce://"):
		return "gcp"
	}
	return string(r.Cloud)
}

// podName is a pod's name without its namespace.
func podName(r *inventory.Resource) string {
	if r.Name != "" {
		return r.Name
	}
	_, name, _ := strings.Cut(r.ID, "/")
	return name
}

// teamOrNamespace is who pays for a pod: its team, else its namespace.
func teamOrNamespace(r *inventory.Resource) string {
	if t := teamOf(r); t != "" {
		return t
	}
	return r.Namespace
}

// isCheckpoint reports whether a claim or bucket holds training
// checkpoints: labelled quartermaster.io/checkpoint=true, or named so.
func isCheckpoint(r *inventory.Resource) bool {
	if v, ok := r.Labels["quartermaster.io/checkpoint"]; ok {
		return v == "true"
	}
	n := strings.ToLower(r.ID + " " + r.Name)
	return strings.Contains(n, "checkpoint") || strings.Contains(n, "ckpt")
}

// sum counts whole GPUs (nvidia.com/gpu, amd.com/gpu). MIG slices are not
// counted: a slice's share of its GPU's price depends on the node's MIG
// layout, which the inventory does not carry, so MIG pods are left out of
// the cost allocation rather than priced as whole GPUs.
func sum(m map[string]int64) int64 {
	return m["nvidia.com/gpu"] + m["amd.com/gpu"]
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
