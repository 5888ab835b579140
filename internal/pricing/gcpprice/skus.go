package gcpprice

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/api/cloudbilling/v1"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// ParsePage decodes one page of services.skus.list, as the API sends it.
func ParsePage(data []byte) (*cloudbilling.ListSkusResponse, error) {
	var p cloudbilling.ListSkusResponse
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decoding SKU page: %w", err)
	}
	return &p, nil
}

// part is one priced component of a machine.
type part struct {
	kind string // gpu, core or ram
	name string // canonical GPU model, or machine family ("A2", "N1 Predefined")
	spot bool
}

// Table holds the parts' hourly USD prices by region.
type Table struct {
	prices map[string]map[part]float64
	// Unknown are GPU SKU names the canonical table does not know.
	Unknown []string
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{prices: map[string]map[part]float64{}} }

var (
	// GCP writes spot GPU SKUs both as "Spot Preemptible Nvidia T4 GPU
	// running in …" and "Nvidia T4 GPU attached to Spot Preemptible VMs
	// running in …"; the usage type, not the wording, says which is spot.
	gpuSKU  = regexp.MustCompile(`^(?:Spot Preemptible |Preemptible )?Nvidia (.+?) GPU(?: attached to Spot Preemptible VMs)? running in .+$`)
	hostSKU = regexp.MustCompile(`^(?:Spot Preemptible |Preemptible )?(.+) Instance (Core|Ram) running in .+$`)
)

// Add records a SKU's price in each of its regions if it is a GPU, core
// or RAM SKU on demand or spot; anything else (commitments, licences,
// sole-tenancy, custom machines, other units) is ignored.
func (t *Table) Add(sku *cloudbilling.Sku) {
	if sku == nil || sku.Category == nil || sku.Category.ResourceFamily != "Compute" {
		return
	}
	var p part
	switch sku.Category.UsageType {
	case "OnDemand":
	case "Preemptible":
		p.spot = true
	default:
		return
	}
	unit := "h"
	if m := gpuSKU.FindStringSubmatch(sku.Description); m != nil {
		name := strings.TrimPrefix(m[1], "Tesla ")
		model, ok := costing.KnownGPUModel(name)
		if !ok {
			if !slices.Contains(t.Unknown, "Nvidia "+name) {
				t.Unknown = append(t.Unknown, "Nvidia "+name)
			}
			return
		}
		p.kind, p.name = "gpu", model
	} else if m := hostSKU.FindStringSubmatch(sku.Description); m != nil {
		p.kind, p.name = strings.ToLower(m[2]), m[1]
		if p.kind == "ram" {
			unit = "GiBy.h"
		}
	} else {
		return
	}
	price, ok := hourly(sku, unit)
	if !ok {
		return
	}
	for _, r := range sku.ServiceRegions {
		if t.prices[r] == nil {
			t.prices[r] = map[part]float64{}
		}
		t.prices[r][p] = price
	}
}

// hourly is a SKU's price per unit: units + nanos/1e9 of its first
// non-free tier, in USD, when the SKU is priced in the expected unit.
func hourly(sku *cloudbilling.Sku, unit string) (float64, bool) {
	if len(sku.PricingInfo) == 0 || sku.PricingInfo[0] == nil || sku.PricingInfo[0].PricingExpression == nil {
		return 0, false
	}
	e := sku.PricingInfo[0].PricingExpression
	if e.UsageUnit != unit {
		return 0, false
	}
	for _, r := range e.TieredRates {
		if r == nil || r.UnitPrice == nil || (r.UnitPrice.CurrencyCode != "" && r.UnitPrice.CurrencyCode != "USD") {
			continue
		}
		p := float64(r.UnitPrice.Units) + float64(r.UnitPrice.Nanos)/1e9
		if p > 0 && p < 1e6 {
			return p, true
		}
	}
	return 0, false
}

// family is the SKU family a machine type's host is priced by.
func family(instanceType string) string {
	for prefix, f := range map[string]string{"a3-megagpu": "A3 Mega", "a3-ultragpu": "A3 Ultra", "a3-edgegpu": "A3 Edge"} {
		if strings.HasPrefix(instanceType, prefix) {
			return f
		}
	}
	series, _, _ := strings.Cut(instanceType, "-")
	if series == "n1" {
		return "N1 Predefined"
	}
	return strings.ToUpper(series)
}

// Price is a machine's hourly price in a region: GPUs + cores + RAM. It
// reports which part is missing when the region lacks one.
func (t *Table) Price(region, instanceType, model string, gpus int, vcpus, memGiB float64, spot bool) (float64, string) {
	f := family(instanceType)
	parts := []struct {
		p   part
		qty float64
	}{
		{part{"gpu", model, spot}, float64(gpus)},
		{part{"core", f, spot}, vcpus},
		{part{"ram", f, spot}, memGiB},
	}
	total := 0.0
	for _, x := range parts {
		price, ok := t.prices[region][x.p]
		if !ok {
			var what string
			if x.p.kind == "gpu" {
				what = x.p.name + " GPU"
			} else {
				what = x.p.name + " Instance " + map[string]string{"core": "Core", "ram": "Ram"}[x.p.kind]
			}
			if spot {
				what = "Spot Preemptible " + what
			}
			return 0, what
		}
		total += price * x.qty
	}
	return total, ""
}
