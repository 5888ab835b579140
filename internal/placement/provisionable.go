package placement

import "github.com/quartermaster-io/quartermaster/internal/costing"

// Provisioner says whether the cluster can run nodes of an offer: a Ready
// node with its labels exists, or a node autoscaler (a Karpenter NodePool)
// would create one. Placement declares it so that offers the cluster cannot
// honour never become pins that leave pods Pending forever.
//
// Provisionable is called on the admission hot path, once per (offer,
// capacity type) that passes every cheaper filter: implementations answer
// from precomputed memory, without I/O or allocation, and are safe for
// concurrent use.
type Provisioner interface {
	Provisionable(o *costing.Offer, capacity costing.CapacityType) bool
}

// Skipped is the cheapest candidate the provisionable filter removed when it
// was cheaper than the placement chosen: why the decision is not the
// cheapest offer in the catalog.
type Skipped struct {
	Offer        *costing.Offer
	CapacityType costing.CapacityType
	Nodes        int
	PricePerHour float64
}

// skip records c as skipped when it is the cheapest skipped so far.
func (t *topK) skip(c *candidate) {
	if !t.skipped || c.better(&t.cheapestSkipped) {
		t.cheapestSkipped, t.skipped = *c, true
	}
}
