package audit

import (
	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// priceIndex finds an instance type's price in a cloud region. A catalog
// may list a type per zone; the index keeps the region's cheapest, which is
// what the clouds bill within a few percent.
type priceIndex struct {
	offers map[priceKey]*costing.Offer
}

type priceKey struct{ cloud, region, instanceType string }

func newPriceIndex(cat *costing.Catalog) *priceIndex {
	p := &priceIndex{offers: map[priceKey]*costing.Offer{}}
	offers := cat.Offers()
	for i := range offers {
		o := &offers[i]
		k := priceKey{o.Cloud, o.Region, o.InstanceType}
		if old := p.offers[k]; old == nil || o.PriceHourly < old.PriceHourly {
			p.offers[k] = o
		}
	}
	return p
}

// hourly is a node's price per hour at its capacity type, and its GPU
// count; ok is false when the catalog does not list the type there (or
// has no spot price for a spot node).
func (p *priceIndex) hourly(cloud, region, instanceType, capacityType string) (price float64, gpus int, ok bool) {
	o := p.offers[priceKey{cloud, region, instanceType}]
	if o == nil {
		return 0, 0, false
	}
	ct := costing.OnDemand
	if capacityType == string(costing.Spot) {
		ct = costing.Spot
	}
	price, ok = o.Price(ct)
	return price, o.GPUCount, ok
}
