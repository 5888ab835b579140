package costing

import (
	"cmp"
	"fmt"
	"slices"
)

// Catalog is an immutable, indexed set of offers.
//
// Offers are stored grouped by GPU model, so that ModelOffers returns a
// sub-slice without scanning or allocating: placement over a 5,000-offer
// catalog looks only at the models a workload accepts.
type Catalog struct {
	offers  []Offer
	byModel map[string]modelRange
	models  []string
	meta    Meta
	regions *Regions
}

type modelRange struct{ lo, hi int }

// Meta describes where a catalog's prices come from.
type Meta struct {
	// AsOf is the date the prices were read, as YYYY-MM-DD.
	AsOf string `json:"asOf"`
	// Source names the file or service the catalog came from.
	Source string `json:"source"`
}

// NewCatalog validates offers, derives their jurisdictions from regions and
// indexes them. The slice is copied. Two offers with the same cloud, region,
// zone and instance type are an error: one of them would silently win.
func NewCatalog(offers []Offer, regions *Regions, meta Meta) (*Catalog, error) {
	if regions == nil {
		regions = DefaultRegions()
	}
	c := &Catalog{offers: slices.Clone(offers), byModel: map[string]modelRange{}, meta: meta, regions: regions}
	seen := make(map[string]struct{}, len(offers))
	for i := range c.offers {
		o := &c.offers[i]
		o.GPUModel = CanonicalGPUModel(o.GPUModel)
		if err := o.validate(); err != nil {
			return nil, fmt.Errorf("offer %s: %w", o.Key(), err)
		}
		if _, dup := seen[o.Key()]; dup {
			return nil, fmt.Errorf("offer %s is listed twice", o.Key())
		}
		seen[o.Key()] = struct{}{}
		o.Jurisdiction = regions.Jurisdiction(o.Cloud, o.Region)
	}
	slices.SortFunc(c.offers, func(a, b Offer) int {
		return cmp.Or(
			cmp.Compare(a.GPUModel, b.GPUModel),
			cmp.Compare(a.Cloud, b.Cloud),
			cmp.Compare(a.Region, b.Region),
			cmp.Compare(a.Zone, b.Zone),
			cmp.Compare(a.InstanceType, b.InstanceType),
		)
	})
	for lo := 0; lo < len(c.offers); {
		hi := lo + 1
		for hi < len(c.offers) && c.offers[hi].GPUModel == c.offers[lo].GPUModel {
			hi++
		}
		c.byModel[c.offers[lo].GPUModel] = modelRange{lo, hi}
		c.models = append(c.models, c.offers[lo].GPUModel)
		lo = hi
	}
	return c, nil
}

// Len is the number of offers.
func (c *Catalog) Len() int { return len(c.offers) }

// Offers returns every offer, grouped by GPU model. Callers must not modify it.
func (c *Catalog) Offers() []Offer { return c.offers }

// ModelOffers returns the offers of one canonical GPU model without copying.
// Callers must not modify it.
func (c *Catalog) ModelOffers(model string) []Offer {
	r, ok := c.byModel[model]
	if !ok {
		return nil
	}
	return c.offers[r.lo:r.hi]
}

// Models returns the canonical GPU models in the catalog, sorted.
func (c *Catalog) Models() []string { return c.models }

// Meta returns where the prices come from.
func (c *Catalog) Meta() Meta { return c.meta }

// Regions returns the region table the catalog's jurisdictions come from.
func (c *Catalog) Regions() *Regions { return c.regions }
