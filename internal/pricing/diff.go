package pricing

import (
	"cmp"
	"math"
	"slices"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Change kinds of a Diff.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Change is one offer that moved between two catalogs.
type Change struct {
	Kind         string `json:"kind"`
	Cloud        string `json:"cloud"`
	Region       string `json:"region"`
	Zone         string `json:"zone,omitempty"`
	InstanceType string `json:"instanceType"`
	GPUModel     string `json:"gpuModel"`
	GPUCount     int    `json:"gpuCount"`
	// Old and New prices are USD per node-hour; nil where the catalog has
	// no such offer or no spot capacity.
	OldPrice *float64 `json:"oldPrice,omitempty"`
	NewPrice *float64 `json:"newPrice,omitempty"`
	OldSpot  *float64 `json:"oldSpot,omitempty"`
	NewSpot  *float64 `json:"newSpot,omitempty"`
	// PricePct and SpotPct are the relative changes in percent, nil when
	// either side is missing.
	PricePct *float64 `json:"pricePct,omitempty"`
	SpotPct  *float64 `json:"spotPct,omitempty"`
}

// Diff lists the offers added, removed and repriced from old to new, by
// cloud, region, zone, instance type and GPU, so that two refreshes compare
// line by line. An offer whose prices are equal is not listed; shapes that
// changed under an unchanged price are not prices and are not listed either.
func Diff(old, new *costing.Catalog) []Change {
	index := func(c *costing.Catalog) map[string]*costing.Offer {
		m := make(map[string]*costing.Offer, c.Len())
		for i := range c.Offers() {
			o := &c.Offers()[i]
			m[o.Key()] = o
		}
		return m
	}
	before, after := index(old), index(new)
	var out []Change
	for k, o := range before {
		n, ok := after[k]
		if !ok {
			c := change(Removed, o)
			c.OldPrice, c.OldSpot = price(o.PriceHourly), spot(o)
			out = append(out, c)
			continue
		}
		if o.PriceHourly == n.PriceHourly && o.SpotPriceHourly == n.SpotPriceHourly {
			continue
		}
		c := change(Changed, o)
		c.OldPrice, c.NewPrice, c.OldSpot, c.NewSpot = price(o.PriceHourly), price(n.PriceHourly), spot(o), spot(n)
		c.PricePct, c.SpotPct = pct(c.OldPrice, c.NewPrice), pct(c.OldSpot, c.NewSpot)
		out = append(out, c)
	}
	for k, n := range after {
		if _, ok := before[k]; !ok {
			c := change(Added, n)
			c.NewPrice, c.NewSpot = price(n.PriceHourly), spot(n)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Cloud, b.Cloud), cmp.Compare(a.Region, b.Region), cmp.Compare(a.Zone, b.Zone),
			cmp.Compare(a.InstanceType, b.InstanceType), cmp.Compare(a.GPUModel, b.GPUModel), cmp.Compare(a.GPUCount, b.GPUCount))
	})
	return out
}

func change(kind string, o *costing.Offer) Change {
	return Change{Kind: kind, Cloud: o.Cloud, Region: o.Region, Zone: o.Zone, InstanceType: o.InstanceType, GPUModel: o.GPUModel, GPUCount: o.GPUCount}
}

func price(p float64) *float64 { return &p }

func spot(o *costing.Offer) *float64 {
	if !o.HasSpot() {
		return nil
	}
	return price(o.SpotPriceHourly)
}

// pct is the change from a to b in percent, rounded to 0.01.
func pct(a, b *float64) *float64 {
	if a == nil || b == nil || *a == 0 || *a == *b {
		return nil
	}
	p := math.Round((*b-*a) / *a * 10000) / 100
	return &p
}
