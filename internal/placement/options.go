package placement

import "github.com/quartermaster-io/quartermaster/internal/costing"

// option is one offer and capacity type that work on some GPU model may
// use, whatever its replica count: the node count, and with it the quota,
// depends on the count and is the caller's to check.
type option struct {
	offer    *costing.Offer
	capacity costing.CapacityType
	node     float64 // price per node per hour
}

// options lists what work on model may use under restr, through the filters
// of the candidate scan that do not depend on the workload's shape: the
// policy's GPU models, the offer restrictions (cloud, region, capabilities)
// and the capacity types (capacityAllowed). They come in the scan's order:
// offers by unit price (spot price when spot is acceptable), on-demand
// before spot within an offer. Sizing uses it to price many replica counts
// of one model without scanning the catalog once per count, and without
// pretending to be a workload.
func (p *Placer) options(model string, restr *costing.Restrictions, interruptible bool) []option {
	if !costing.Allows(restr.GPUModels, model) {
		return nil
	}
	var out []option
	for _, o := range p.catalog.ByUnitPrice(model, bySpot(interruptible, restr)) {
		if !restr.AllowsOffer(o) {
			continue
		}
		for _, ct := range [2]costing.CapacityType{costing.OnDemand, costing.Spot} {
			if price, ok := o.Price(ct); ok && capacityAllowed(ct, interruptible, restr) {
				out = append(out, option{offer: o, capacity: ct, node: price})
			}
		}
	}
	return out
}

// nodesForReplicas is how many nodes replicas need at perNode a node, or 0
// when none fits on a node.
func nodesForReplicas(replicas, perNode int) int {
	if perNode <= 0 {
		return 0
	}
	return (replicas + perNode - 1) / perNode
}
