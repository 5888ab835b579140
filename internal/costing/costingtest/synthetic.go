// Package costingtest builds synthetic catalogs for tests and benchmarks:
// realistic shapes and prices at any size, deterministic for a seed.
package costingtest

import (
	"fmt"
	"math/rand/v2"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// shape is a node type the generator varies.
type shape struct {
	model         string
	gpus          int
	vcpus, memGiB float64
	pricePerGPU   float64
	memPerGPUGiB  float64
	capability    string
}

var shapes = []shape{
	{costing.H200, 8, 192, 2048, 8.0, 141, "efa"},
	{costing.H100, 8, 192, 2048, 6.9, 80, "efa"},
	{costing.H100, 1, 26, 234, 11.0, 80, "confidential-computing"},
	{costing.A100_80G, 8, 96, 1152, 3.4, 80, ""},
	{costing.A100_80G, 1, 12, 170, 3.7, 80, ""},
	{costing.A100, 8, 96, 1152, 2.75, 40, ""},
	{costing.L40S, 4, 48, 384, 2.6, 48, ""},
	{costing.L4, 1, 4, 16, 0.8, 24, ""},
	{costing.L4, 8, 96, 384, 1.0, 24, ""},
	{costing.A10G, 4, 48, 192, 1.4, 24, ""},
	{costing.T4, 1, 4, 16, 0.53, 16, ""},
	{costing.T4, 4, 48, 192, 0.98, 16, ""},
}

// Catalog returns n offers spread over the clouds and the regions of the
// default region table, with prices jittered around list prices. Instance
// type names are unique per region, so the catalog is valid by construction.
func Catalog(n int, seed uint64) (*costing.Catalog, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	regions := costing.DefaultRegions().All()
	offers := make([]costing.Offer, 0, n)
	for i := 0; i < n; i++ {
		r := regions[rng.IntN(len(regions))]
		s := shapes[rng.IntN(len(shapes))]
		price := s.pricePerGPU * float64(s.gpus) * (0.85 + 0.4*rng.Float64())
		spot := 0.0
		if rng.IntN(3) > 0 {
			spot = price * (0.3 + 0.5*rng.Float64())
		}
		o := costing.Offer{
			Cloud: r.Cloud, Region: r.Region, InstanceType: fmt.Sprintf("syn-%s-%dx-%d", s.model, s.gpus, i),
			GPUModel: s.model, GPUCount: s.gpus, GPUMemoryGiB: s.memPerGPUGiB, VCPUs: s.vcpus, MemoryGiB: s.memGiB,
			PriceHourly: round4(price), SpotPriceHourly: round4(spot),
		}
		if s.capability != "" {
			o.Capabilities = []string{s.capability}
		}
		offers = append(offers, o)
	}
	return costing.NewCatalog(offers, nil, costing.Meta{AsOf: "2026-11-01", Source: fmt.Sprintf("synthetic n=%d seed=%d", n, seed)})
}

func round4(f float64) float64 { return float64(int64(f*1e4+0.5)) / 1e4 }
