package main

import (
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// writeCatalog writes a synthetic catalog of n offers: the embedded
// catalog's shapes spread over every region of their cloud and over zones,
// with prices jittered by ±15%, so that placement searches a realistically
// large space.
func writeCatalog(path string, n int, seed int64) error {
	base, err := costing.DefaultCatalog()
	if err != nil {
		return err
	}
	regions := map[string][]string{}
	for _, r := range base.Regions().All() {
		regions[r.Cloud] = append(regions[r.Cloud], r.Region)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	seen := map[string]bool{}
	var offers []costing.Offer
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
		return fmt.Errorf("could only build %d distinct offers", len(offers))
	}
	cat, err := costing.NewCatalog(offers, base.Regions(), costing.Meta{AsOf: base.Meta().AsOf, Source: "synthetic"})
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := costing.WriteCSV(f, cat); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
