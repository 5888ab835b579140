package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Drift and backup check codes.
const (
	CodePlacementDrift        = "placement-drift"
	CodeCheckpointNoSnapshot  = "checkpoint-not-snapshotted"
	CodeCheckpointUnversioned = "checkpoint-bucket-unversioned"
)

const (
	driftPolicy  = "quartermaster.checks.drift"
	backupPolicy = "quartermaster.checks.backup"
)

// recordedPlacement is what drift reads of a decision annotation (contract
// 4.2).
type recordedPlacement struct {
	ID           string  `json:"id"`
	Cloud        string  `json:"cloud"`
	Region       string  `json:"region"`
	InstanceType string  `json:"instanceType"`
	CapacityType string  `json:"capacityType"`
	PricePerHour float64 `json:"pricePerHour"`
}

// drift reports workloads whose GPU pods run somewhere other than where
// their admission decision put them: a pin removed by hand, a node pool
// that relabelled its nodes, a decision annotation copied from elsewhere.
func (s *state) drift() {
	for _, wl := range s.workloads {
		var d recordedPlacement
		if err := json.Unmarshal([]byte(wl.decision), &d); err != nil || d.Cloud == "" {
			f := newFinding(wl.r, CategoryDrift, "low", CodePlacementDrift, driftPolicy,
				"the quartermaster.io/decision annotation is not a decision Quartermaster wrote; its placement cannot be checked")
			s.add(f)
			continue
		}
		kind, _ := wl.r.Workload.Object["kind"].(string)
		_, name, _ := strings.Cut(wl.r.ID, "/")
		owner := kind + "/" + name
		var elsewhere []string
		for _, p := range s.pods {
			if p.account != wl.r.Account || p.namespace != wl.r.Namespace || p.owner != owner {
				continue
			}
			n := s.nodes[p.account+"/"+p.node]
			if n == nil {
				continue
			}
			if n.cloud != d.Cloud || n.region != d.Region || n.instanceType != d.InstanceType {
				elsewhere = append(elsewhere, fmt.Sprintf("%s on %s (%s/%s %s)", p.name, p.node, n.cloud, n.region, n.instanceType))
			}
		}
		if len(elsewhere) == 0 {
			continue
		}
		slices.Sort(elsewhere)
		f := newFinding(wl.r, CategoryDrift, "medium", CodePlacementDrift, driftPolicy,
			fmt.Sprintf("decision %s placed it on %s/%s %s, but %d pod(s) run elsewhere: %s",
				d.ID, d.Cloud, d.Region, d.InstanceType, len(elsewhere), strings.Join(elsewhere, "; ")))
		f.Remediation = "re-apply the workload so that admission places it again, or find what removed its node affinity"
		s.add(f)
	}
}

// backup reports checkpoints without a recent copy: claims with no ready
// VolumeSnapshot younger than the threshold, buckets without versioning.
func (s *state) backup() {
	for _, r := range s.claims {
		name := r.Name
		if name == "" {
			_, name, _ = strings.Cut(r.ID, "/")
		}
		taken, ok := s.snapshots[r.Account+"/"+r.Namespace+"/"+name]
		// Age as of when the claim was seen: an audit of last week's
		// snapshot judges its backups as they stood then, not as they
		// would look today with no newer snapshot in the file.
		asOf := s.now
		if !r.Observed.IsZero() {
			asOf = r.Observed
		}
		if ok && asOf.Sub(taken) <= s.thresholds.BackupMaxAge {
			continue
		}
		msg := fmt.Sprintf("checkpoint volume claim %s has no VolumeSnapshot", r.ID)
		if ok {
			msg = fmt.Sprintf("checkpoint volume claim %s was last snapshotted %s before it was observed (more than %v)", r.ID,
				asOf.Sub(taken).Round(timeUnit), s.thresholds.BackupMaxAge)
		}
		f := newFinding(r, CategoryBackup, "medium", CodeCheckpointNoSnapshot, backupPolicy, msg)
		f.Remediation = "snapshot it on a schedule (a VolumeSnapshot per checkpoint, or a snapshot controller)"
		s.add(f)
	}
	for _, r := range s.buckets {
		if r.Bucket.Versioning {
			continue
		}
		f := newFinding(r, CategoryBackup, "medium", CodeCheckpointUnversioned, backupPolicy,
			fmt.Sprintf("checkpoint bucket %s keeps no object versions: an overwritten or deleted checkpoint is gone", r.ID))
		f.Remediation = "turn on object versioning (with a lifecycle rule expiring old versions)"
		s.add(f)
	}
}

// CodePriceDrift is a running workload that today's prices would place
// much cheaper.
const CodePriceDrift = "price-drift"

// priceDrift places every running workload with a decision again, all at
// once (so that the moves fit the quotas together), and reports those that
// would save at least the threshold share of their recorded price.
func (s *state) priceDrift(ctx context.Context, r Replanner) error {
	var running []Running
	byKey := map[string]*workloadInfo{}
	for _, wl := range s.workloads {
		if wl.r.Workload.Object == nil {
			continue
		}
		key := wl.r.Account + "/" + wl.r.ID
		byKey[key] = wl
		running = append(running, Running{Key: key, Object: wl.r.Workload.Object, NamespaceLabels: s.namespaceLabels[wl.r.Account+"/"+wl.r.Namespace]})
	}
	if len(running) == 0 {
		return nil
	}
	moves, err := r.Replan(ctx, running)
	if err != nil {
		return err
	}
	for _, m := range moves {
		wl := byKey[m.Key]
		if wl == nil {
			continue
		}
		var d recordedPlacement
		if json.Unmarshal([]byte(wl.decision), &d) != nil || !(d.PricePerHour > 0) {
			continue
		}
		saving := d.PricePerHour - m.PricePerHour
		if saving < s.thresholds.PriceDrift*d.PricePerHour {
			continue
		}
		monthly := saving * costing.HoursPerMonth
		f := newFinding(wl.r, CategoryDrift, wasteSeverity(monthly), CodePriceDrift, driftPolicy,
			fmt.Sprintf("decision %s placed it on %s/%s %s at %.2f USD/h; today's prices place it on %s/%s %d × %s (%s, %s) at %.2f USD/h: %.0f%% cheaper, %.2f USD a month",
				d.ID, d.Cloud, d.Region, d.InstanceType, d.PricePerHour, m.Cloud, m.Region, m.Nodes, m.InstanceType, m.GPUModel, m.CapacityType,
				m.PricePerHour, 100*saving/d.PricePerHour, monthly))
		f.MonthlyCost = round2(monthly)
		f.Remediation = "re-apply the workload (or roll it out) so that admission places it again at today's prices"
		s.add(f)
	}
	return nil
}
