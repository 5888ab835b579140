package costing

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// Catalog is an immutable, indexed set of offers.
//
// Offers are stored grouped by GPU model, so that ModelOffers returns a
// sub-slice without scanning or allocating: placement over a 5,000-offer
// catalog looks only at the models a workload accepts. ByUnitPrice orders a
// model's offers cheapest GPU-hour first, so that a search for the cheapest
// can stop as soon as the price floor exceeds what it already has.
type Catalog struct {
	offers  []Offer
	byModel map[string]modelRange
	// onDemandOrder and anyOrder hold each model's offers by ascending
	// on-demand GPU-hour price and by ascending cheapest GPU-hour price
	// (spot included), for searches that stop at a price floor.
	onDemandOrder map[string][]*Offer
	anyOrder      map[string][]*Offer
	// modelsByFloor lists the models by their cheapest on-demand ([0]) or
	// any-capacity ([1]) GPU-hour, so that searches fill up on cheap offers
	// first and prune the rest sooner.
	modelsByFloor [2][]string
	models        []string
	meta          Meta
	regions       *Regions
}

type modelRange struct{ lo, hi int }

// Meta describes where a catalog's prices come from.
type Meta struct {
	// AsOf is the date the prices were read, as YYYY-MM-DD.
	AsOf string `json:"asOf"`
	// Source names the file or service the catalog came from.
	Source string `json:"source"`
	// Revision is a short hash of the file the catalog was read from
	// (ContentRevision), empty for catalogs built in memory. The webhook
	// reloads catalogs; the decision log records this revision, so that
	// a price can be traced to the file that set it.
	Revision string `json:"revision,omitempty"`
}

// ContentRevision is the revision of a catalog file's bytes: the first 12
// hex digits of their SHA-256, like a policy bundle's revision.
func ContentRevision(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])[:12]
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
	c.onDemandOrder = make(map[string][]*Offer, len(c.models))
	c.anyOrder = make(map[string][]*Offer, len(c.models))
	for m, r := range c.byModel {
		od := make([]*Offer, 0, r.hi-r.lo)
		for i := r.lo; i < r.hi; i++ {
			od = append(od, &c.offers[i])
		}
		anyOrd := slices.Clone(od)
		// Stable sorts over the key order keep ties deterministic.
		slices.SortStableFunc(od, func(a, b *Offer) int {
			return cmp.Compare(a.PriceHourly/float64(a.GPUCount), b.PriceHourly/float64(b.GPUCount))
		})
		slices.SortStableFunc(anyOrd, func(a, b *Offer) int { return cmp.Compare(a.MinUnitPrice(), b.MinUnitPrice()) })
		c.onDemandOrder[m], c.anyOrder[m] = od, anyOrd
	}
	for i, order := range []map[string][]*Offer{c.onDemandOrder, c.anyOrder} {
		floor := func(m string) float64 {
			o := order[m][0]
			if i == 0 {
				return o.PriceHourly / float64(o.GPUCount)
			}
			return o.MinUnitPrice()
		}
		c.modelsByFloor[i] = slices.Clone(c.models)
		slices.SortStableFunc(c.modelsByFloor[i], func(a, b string) int { return cmp.Compare(floor(a), floor(b)) })
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

// ByUnitPrice returns a model's offers cheapest GPU-hour first: by on-demand
// price, or, with spot, by the cheaper of spot and on-demand. Callers must
// not modify it.
func (c *Catalog) ByUnitPrice(model string, spot bool) []*Offer {
	if spot {
		return c.anyOrder[model]
	}
	return c.onDemandOrder[model]
}

// ModelsByFloor returns the models cheapest GPU-hour first (with spot: the
// cheaper of spot and on-demand). Callers must not modify it.
func (c *Catalog) ModelsByFloor(spot bool) []string {
	if spot {
		return c.modelsByFloor[1]
	}
	return c.modelsByFloor[0]
}

// Models returns the canonical GPU models in the catalog, sorted.
func (c *Catalog) Models() []string { return c.models }

// Meta returns where the prices come from.
func (c *Catalog) Meta() Meta { return c.meta }

// Regions returns the region table the catalog's jurisdictions come from.
func (c *Catalog) Regions() *Regions { return c.regions }
