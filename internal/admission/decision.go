package admission

import (
	"encoding/json"
	"slices"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Decision is the JSON of the quartermaster.io/decision annotation
// (contract 4.2).
type Decision struct {
	ID string `json:"id"`
	// Placement is where the gang goes and what it costs; its fields are
	// the annotation's (contract 4.2), inline after the id.
	placement.Placement
	// Alternatives are the next cheapest feasible placements.
	Alternatives []Alternative `json:"alternatives"`
	// Policies are the rules that restricted the choice.
	Policies []string `json:"policies"`
	// ScaledToZero is true when the workload had no GPU replicas: it is
	// pinned where one replica of each pod set goes, and nodes, prices and
	// cost are those of that one replica each.
	ScaledToZero bool `json:"scaledToZero,omitempty"`
	// Pinned is true when the workload fixed its own placement and kept it.
	Pinned bool `json:"pinned,omitempty"`
	// MIG explains fractional GPU demand.
	MIG         *MIGNote `json:"mig,omitempty"`
	CatalogAsOf string   `json:"catalogAsOf,omitempty"`
	// CatalogRevision is the revision of the catalog that priced the
	// decision, so that a kept decision is logged with the catalog that
	// priced it, not with the one in service when it was kept.
	CatalogRevision string `json:"catalogRevision,omitempty"`
	// Fingerprint hashes what the decision depended on in the object (see
	// fingerprint): an update that leaves it unchanged keeps the decision
	// without evaluating policy or placement again, and the validating call
	// accepts a final object that still matches it.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Skipped is the cheapest offer, cheaper than this one, that the
	// cluster has no node or node pool for: why the choice is not the
	// catalog's cheapest. Absent when nothing cheaper was skipped.
	Skipped *SkippedOffer `json:"skipped,omitempty"`
}

// SkippedOffer is an offer the provisionable filter removed.
type SkippedOffer struct {
	Cloud        string  `json:"cloud"`
	Region       string  `json:"region"`
	InstanceType string  `json:"instanceType"`
	CapacityType string  `json:"capacityType"`
	PricePerHour float64 `json:"pricePerHour"`
	Reason       string  `json:"reason"`
}

// reasonNotProvisionable is SkippedOffer.Reason for the provisionable filter.
const reasonNotProvisionable = "not provisionable: no Ready node with its labels and no node pool that admits it"

// Alternative is a runner-up placement.
type Alternative struct {
	Cloud        string  `json:"cloud"`
	Region       string  `json:"region"`
	InstanceType string  `json:"instanceType"`
	GPUModel     string  `json:"gpuModel"`
	CapacityType string  `json:"capacityType"`
	Nodes        int     `json:"nodes"`
	PricePerHour float64 `json:"pricePerHour"`
}

// MIGNote says how MIG slices were counted.
type MIGNote struct {
	Profile     string  `json:"profile"`
	Instances   int64   `json:"instancesPerReplica"`
	GPUFraction float64 `json:"gpuFractionPerReplica"`
	Note        string  `json:"note"`
}

func newDecision(id string, w *workload.Workload, res *placement.Result, restr *costing.Restrictions, asOf string) *Decision {
	d := &Decision{
		ID: id, Placement: res.Best,
		Alternatives: make([]Alternative, 0, len(res.Alternatives)),
		Policies:     []string{},
		Pinned:       w.Pinned(),
		CatalogAsOf:  asOf,
	}
	o := res.Best.Offer
	for _, a := range res.Alternatives {
		d.Alternatives = append(d.Alternatives, Alternative{Cloud: a.Cloud, Region: a.Region,
			InstanceType: a.InstanceType, GPUModel: a.GPUModel, CapacityType: string(a.CapacityType),
			Nodes: a.Nodes, PricePerHour: a.PricePerHour})
	}
	if restr != nil {
		for _, r := range restr.Reasons {
			if r.Policy != "" && !slices.Contains(d.Policies, r.Policy) {
				d.Policies = append(d.Policies, r.Policy)
			}
		}
	}
	if s := res.Skipped; s != nil {
		d.Skipped = &SkippedOffer{Cloud: s.Offer.Cloud, Region: s.Offer.Region, InstanceType: s.Offer.InstanceType,
			CapacityType: string(s.CapacityType), PricePerHour: s.PricePerHour, Reason: reasonNotProvisionable}
	}
	for i := range w.PodSets {
		if g := w.PodSets[i].GPU; g.Count > 0 && g.MIG != nil {
			d.MIG = &MIGNote{Profile: g.MIG.Name, Instances: g.Count, GPUFraction: float64(g.Count) * g.MIG.Fraction(),
				Note: "MIG instances are counted as a fraction of a " + o.GPUModel + "; a node holds gpusPerNode × " +
					itoa(g.MIG.PerGPU) + " instances of " + g.MIG.Name}
			break
		}
	}
	return d
}

// samePlacement reports whether an existing decision annotation records the
// same placement of the same object, so that reinvocation leaves it alone.
func samePlacement(raw string, d *Decision) bool {
	var old Decision
	if err := json.Unmarshal([]byte(raw), &old); err != nil {
		return false
	}
	return old.Cloud == d.Cloud && old.Region == d.Region && old.InstanceType == d.InstanceType &&
		old.CapacityType == d.CapacityType && old.GPUModel == d.GPUModel && old.Nodes == d.Nodes &&
		old.Fingerprint == d.Fingerprint
}

// parseDecision reads a decision annotation; nil when raw is not one (an
// annotation written by hand, or by an older version without a fingerprint,
// is no record to keep).
func parseDecision(raw string) *Decision {
	var d Decision
	if err := json.Unmarshal([]byte(raw), &d); err != nil || d.Fingerprint == "" || d.Cloud == "" ||
		d.Region == "" || d.InstanceType == "" {
		return nil
	}
	return &d
}
