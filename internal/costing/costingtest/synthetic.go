// Package costingtest builds synthetic catalogs for tests and benchmarks:
// realistic shapes and prices at any size, deterministic for a seed.
package costingtest

import (
	"fmt"
	"math/rand/v2"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Catalog returns n offers: the embedded catalog's real shapes spread over
// every region of their cloud and over zones, with prices jittered by ±15%,
// so that placement searches a realistically large space. Keys are unique
// by construction; n beyond what 26 zones per region allow is an error.
func Catalog(n int, seed uint64) (*costing.Catalog, error) {
	base, err := costing.DefaultCatalog()
	if err != nil {
		return nil, err
	}
	regions := map[string][]string{}
	for _, r := range base.Regions().All() {
		regions[r.Cloud] = append(regions[r.Cloud], r.Region)
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	offers := make([]costing.Offer, 0, n)
	// The base catalog lists an instance type once per region, so spreading
	// each row over every region meets the same key many times: keep the
	// first.
	seen := map[string]bool{}
	for zone := 0; len(offers) < n && zone < 26; zone++ {
		for _, o := range base.Offers() {
			for _, region := range regions[o.Cloud] {
				if len(offers) == n {
					break
				}
				c := o
				c.Region, c.Zone, c.Jurisdiction = region, region+string(rune('a'+zone)), ""
				c.Capabilities = append([]string(nil), o.Capabilities...)
				if seen[c.Key()] {
					continue
				}
				seen[c.Key()] = true
				f := 0.85 + 0.3*rng.Float64()
				c.PriceHourly = round2(o.PriceHourly * f)
				if o.SpotPriceHourly > 0 {
					c.SpotPriceHourly = round2(o.SpotPriceHourly * f)
				}
				offers = append(offers, c)
			}
		}
	}
	if len(offers) < n {
		return nil, fmt.Errorf("synthetic catalog: only %d distinct offers can be built, %d asked", len(offers), n)
	}
	return costing.NewCatalog(offers, base.Regions(), costing.Meta{AsOf: base.Meta().AsOf, Source: fmt.Sprintf("synthetic n=%d seed=%d", n, seed)})
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
