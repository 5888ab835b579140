package costing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Cloud names as they appear in the catalog and in node labels.
const (
	AWS   = "aws"
	Azure = "azure"
	GCP   = "gcp"
)

// Clouds lists the supported clouds in a stable order.
var Clouds = []string{AWS, Azure, GCP}

// CapacityType is how a node is bought.
type CapacityType string

// The capacity types an offer can be bought as.
const (
	OnDemand CapacityType = "on-demand"
	Spot     CapacityType = "spot"
)

// ParseCapacityType accepts the canonical names and the clouds' synonyms.
func ParseCapacityType(s string) (CapacityType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on-demand", "ondemand", "on_demand", "regular", "standard":
		return OnDemand, nil
	case "spot", "preemptible", "low-priority":
		return Spot, nil
	}
	return "", fmt.Errorf("capacity type %q: want on-demand or spot", s)
}

// Offer is one purchasable node shape in one place, with its prices.
// Prices are USD per node-hour. SpotPriceHourly is zero when the offer has no
// spot capacity.
type Offer struct {
	Cloud           string
	Region          string
	Zone            string
	InstanceType    string
	GPUModel        string
	GPUCount        int
	GPUMemoryGiB    float64
	VCPUs           float64
	MemoryGiB       float64
	PriceHourly     float64
	SpotPriceHourly float64
	Capabilities    []string
	// Source names where the offer's prices were read (e.g.
	// "aws-price-list/20261101000000"), empty when the catalog as a whole
	// says it (Meta.Source). It is the optional trailing source column of
	// the CSV format: refreshed catalogs mix sources per row.
	Source string

	// Jurisdiction is derived from Cloud and Region when the catalog is built.
	Jurisdiction string
}

// offerJSON is an offer as JSON (qm catalog list -o json|yaml): the
// contract's column names (4.4), and null for a spot price the offer does
// not have, rather than Go's field names and a 0 that reads as free.
type offerJSON struct {
	Cloud           string   `json:"cloud"`
	Region          string   `json:"region"`
	Zone            string   `json:"zone,omitempty"`
	InstanceType    string   `json:"instance_type"`
	GPUModel        string   `json:"gpu_model"`
	GPUCount        int      `json:"gpu_count"`
	GPUMemoryGiB    float64  `json:"gpu_memory_gib"`
	VCPUs           float64  `json:"vcpus"`
	MemoryGiB       float64  `json:"memory_gib"`
	PriceHourly     float64  `json:"price_hourly"`
	SpotPriceHourly *float64 `json:"spot_price_hourly"`
	Capabilities    []string `json:"capabilities"`
	Jurisdiction    string   `json:"jurisdiction,omitempty"`
	Source          string   `json:"source,omitempty"`
}

// MarshalJSON writes the offer under the contract's names.
func (o Offer) MarshalJSON() ([]byte, error) {
	j := offerJSON{Cloud: o.Cloud, Region: o.Region, Zone: o.Zone, InstanceType: o.InstanceType, GPUModel: o.GPUModel,
		GPUCount: o.GPUCount, GPUMemoryGiB: o.GPUMemoryGiB, VCPUs: o.VCPUs, MemoryGiB: o.MemoryGiB, PriceHourly: o.PriceHourly,
		Capabilities: o.Capabilities, Jurisdiction: o.Jurisdiction, Source: o.Source}
	if o.HasSpot() {
		spot := o.SpotPriceHourly
		j.SpotPriceHourly = &spot
	}
	if j.Capabilities == nil {
		j.Capabilities = []string{}
	}
	return json.Marshal(j)
}

// HasSpot reports whether the offer can be bought as spot capacity.
func (o *Offer) HasSpot() bool { return o.SpotPriceHourly > 0 }

// Price returns the node-hour price for a capacity type and whether the offer
// can be bought that way.
func (o *Offer) Price(c CapacityType) (float64, bool) {
	if c == Spot {
		return o.SpotPriceHourly, o.SpotPriceHourly > 0
	}
	return o.PriceHourly, true
}

// MinUnitPrice is the lowest price of one GPU-hour on this offer, spot
// included: a lower bound on what any gang pays per GPU it occupies.
func (o *Offer) MinUnitPrice() float64 {
	p := o.PriceHourly
	if o.SpotPriceHourly > 0 && o.SpotPriceHourly < p {
		p = o.SpotPriceHourly
	}
	return p / float64(o.GPUCount)
}

// HasCapability reports whether the offer carries a capability such as
// "confidential-computing".
func (o *Offer) HasCapability(c string) bool { return slices.Contains(o.Capabilities, c) }

// Key identifies an offer within a catalog. The GPU model and count are part
// of it because GCP attaches GPUs to general-purpose hosts: n1-standard-8 with
// one T4 and with one V100 are two offers.
func (o *Offer) Key() string {
	return o.Cloud + "/" + o.Region + "/" + o.Zone + "/" + o.InstanceType + "/" + strconv.Itoa(o.GPUCount) + "x" + o.GPUModel
}

// validate checks an offer read from outside data.
func (o *Offer) validate() error {
	if !slices.Contains(Clouds, o.Cloud) {
		return fmt.Errorf("cloud %q: want one of %s", o.Cloud, strings.Join(Clouds, ", "))
	}
	switch {
	case o.Region == "":
		return fmt.Errorf("region is empty")
	case o.InstanceType == "":
		return fmt.Errorf("instance type is empty")
	case o.GPUModel == "":
		return fmt.Errorf("gpu model is empty")
	case o.GPUCount <= 0:
		return fmt.Errorf("gpu count %d: want a positive integer", o.GPUCount)
	case o.GPUCount > 64:
		return fmt.Errorf("gpu count %d: more than 64 GPUs in one node is not a real offer", o.GPUCount)
	case !finiteNonNegative(o.GPUMemoryGiB):
		return fmt.Errorf("gpu memory %v: want a non-negative number", o.GPUMemoryGiB)
	case !(o.VCPUs > 0) || !finiteNonNegative(o.VCPUs):
		return fmt.Errorf("vcpus %v: want a positive number", o.VCPUs)
	case !(o.MemoryGiB > 0) || !finiteNonNegative(o.MemoryGiB):
		return fmt.Errorf("memory %v: want a positive number of GiB", o.MemoryGiB)
	case !(o.PriceHourly > 0) || !finiteNonNegative(o.PriceHourly):
		return fmt.Errorf("price %v: want a positive hourly price", o.PriceHourly)
	case !finiteNonNegative(o.SpotPriceHourly):
		return fmt.Errorf("spot price %v: want a non-negative hourly price or empty", o.SpotPriceHourly)
	}
	return nil
}

func finiteNonNegative(f float64) bool { return f >= 0 && f < 1e12 }
