package placement

import "github.com/quartermaster-io/quartermaster/internal/costing"

// Placement is one way to run a whole gang: where (an offer's cloud,
// region, instance type and capacity type), how many nodes, and what it
// costs. It is the one placement value of the project: the decision
// annotation embeds it (contract 4.2, so its JSON names and their order are
// a contract), policy phase two reads it as input.placement, and the
// optimizer's assignments and the sizing rows are views of it. Build it
// with of, so that the offer's facts and the prices are filled one way.
type Placement struct {
	// Offer is the catalog entry; the fields below repeat what the views
	// need of it, so that a decision read back from an annotation is
	// complete without a catalog.
	Offer        *costing.Offer `json:"-"`
	Cloud        string         `json:"cloud"`
	Region       string         `json:"region"`
	Jurisdiction string         `json:"jurisdiction,omitempty"`
	InstanceType string         `json:"instanceType"`
	GPUModel     string         `json:"gpuModel"`
	GPUsPerNode  int            `json:"gpusPerNode"`
	Nodes        int            `json:"nodes"`
	// CapacityType is on-demand or spot.
	CapacityType     costing.CapacityType `json:"capacityType" doc:"on-demand or spot."`
	NodePricePerHour float64              `json:"nodePricePerHour"`
	// PricePerHour is the whole gang: nodes × node price, in USD.
	PricePerHour float64 `json:"pricePerHour" doc:"The whole gang: nodes × node price, in USD."`
	// EstimatedCost is PricePerHour × EstimatedHours, in USD.
	EstimatedCost  float64 `json:"estimatedCost" doc:"pricePerHour × estimatedHours, in USD."`
	EstimatedHours float64 `json:"estimatedHours"`
	// Replicas and P99 are set when inference sizing chose the replica
	// count with the offer (PlaceInference): the count, and the p99
	// response time the M/M/c model predicts for it, such as "212.5ms".
	Replicas int    `json:"replicas,omitempty" doc:"The replica count inference sizing chose (quartermaster.io/replicas: auto)."`
	P99      string `json:"p99,omitempty" doc:"The predicted p99 response time at that count, e.g. 212.5ms."`

	// ReplicasPerNode is per GPU pod set, in pod set order (0 for pod sets
	// without GPUs). Placement's own bookkeeping: no view shows it.
	ReplicasPerNode []int `json:"-"`
	// GPUsHeld is nodes × GPUs per node: what the gang holds against the
	// quota.
	GPUsHeld int64 `json:"-"`
}

// of is the placement of nodes of offer o at capacity type ct, priced at
// node per node-hour (price for the gang) over hours.
func of(o *costing.Offer, ct costing.CapacityType, nodes int, node, price, hours float64) Placement {
	return Placement{
		Offer: o, Cloud: o.Cloud, Region: o.Region, Jurisdiction: o.Jurisdiction, InstanceType: o.InstanceType,
		GPUModel: o.GPUModel, GPUsPerNode: o.GPUCount, Nodes: nodes, CapacityType: ct,
		NodePricePerHour: node, PricePerHour: round(price, 4),
		EstimatedCost: round(price*hours, 4), EstimatedHours: hours,
		GPUsHeld: int64(nodes) * int64(o.GPUCount),
	}
}
