package pricing

import (
	"context"
	"slices"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Source is one cloud's price API, as Refresh consumes it.
type Source interface {
	// Cloud is the cloud the source prices: costing.AWS, Azure or GCP.
	Cloud() string
	// Fetch prices the requested regions. It returns what it could price
	// even when some regions fail: the error then joins one error per
	// failed region, each naming the cloud, region and URL, and the result
	// holds the other regions' offers. ctx bounds every call it makes.
	Fetch(ctx context.Context, req Request) (Result, error)
}

// Request is what Refresh asks a source for.
type Request struct {
	// Regions are the cloud's regions to price, all in the region table.
	Regions []string
	// Shapes are the embedded catalog's offers of the source's cloud: the
	// instance types it knows, with their GPU model and count, vCPUs and
	// memory, for sources whose API does not carry a shape (Azure, GCP).
	Shapes []costing.Offer
}

// Result is what a source priced. Offers carry the cloud, region, instance
// type, prices and Source; shape fields the API does not carry may be zero,
// and Refresh fills them from the embedded catalog.
type Result struct {
	Offers []costing.Offer
	// Skipped lists what the source left out on purpose, and why (a region
	// unchanged since the last refresh is not skipped: its offers come from
	// the state file and it is listed in Unchanged).
	Skipped []Skip
	// Unchanged lists regions whose prices were reused from the last
	// refresh because the cloud says they have not changed.
	Unchanged []string
	// UnknownGPUs are the clouds' GPU names the canonical model table does
	// not know, with the instance types that carry them: reported, never
	// guessed.
	UnknownGPUs []string
}

// Skip is one thing a source or Refresh left out.
type Skip struct {
	Region string `json:"region,omitempty"`
	// What is the instance type or SKU left out, empty for a whole region.
	What   string `json:"what,omitempty"`
	Reason string `json:"reason"`
}

// AddUnknownGPU records an unknown GPU name once.
func (r *Result) AddUnknownGPU(name string) {
	if !slices.Contains(r.UnknownGPUs, name) {
		r.UnknownGPUs = append(r.UnknownGPUs, name)
	}
}

// ShapeIndex finds the embedded catalog's shape of an instance type.
type ShapeIndex map[string]costing.Offer

// NewShapeIndex indexes shapes by instance type; the first offer of an
// instance type wins. AWS and Azure sizes have one GPU model each; GCP's n1
// hosts carry several, which is why gcpprice walks the shapes instead.
func NewShapeIndex(shapes []costing.Offer) ShapeIndex {
	ix := ShapeIndex{}
	for _, o := range shapes {
		if _, ok := ix[o.InstanceType]; !ok {
			ix[o.InstanceType] = o
		}
	}
	return ix
}
