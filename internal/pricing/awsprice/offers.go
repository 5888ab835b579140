package awsprice

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// OnDemandRow is one GPU instance type's on-demand price in one region, as
// the bulk offer file has it.
type OnDemandRow struct {
	InstanceType string  `json:"instanceType"`
	GPUCount     int     `json:"gpuCount"`
	GPUMemoryGiB float64 `json:"gpuMemoryGiB,omitempty"` // per GPU, 0 when the file does not say
	VCPUs        float64 `json:"vcpus"`
	MemoryGiB    float64 `json:"memoryGiB"`
	PriceHourly  float64 `json:"priceHourly"`
}

// OfferFile is what DecodeOffers keeps of one region's offer file.
type OfferFile struct {
	// Version is the file's publication version, e.g. 20261101000000.
	Version string
	Rows    []OnDemandRow
	// Fractional lists GPU instance types with a fraction of a GPU (g6f),
	// which are not catalog offers.
	Fractional []string
}

// product is the part of a product entry the filter reads.
type product struct {
	ProductFamily string `json:"productFamily"`
	Attributes    struct {
		InstanceType    string `json:"instanceType"`
		GPU             string `json:"gpu"`
		GPUMemory       string `json:"gpuMemory"`
		VCPU            string `json:"vcpu"`
		Memory          string `json:"memory"`
		OperatingSystem string `json:"operatingSystem"`
		Tenancy         string `json:"tenancy"`
		PreInstalledSw  string `json:"preInstalledSw"`
		CapacityStatus  string `json:"capacitystatus"`
		MarketOption    string `json:"marketoption"`
		LocationType    string `json:"locationType"`
		RegionCode      string `json:"regionCode"`
		UsageType       string `json:"usagetype"`
		LicenseModel    string `json:"licenseModel"`
	} `json:"attributes"`
}

// gpuProduct reports whether a product is a GPU instance on Linux, shared
// tenancy, without pre-installed software, as used capacity bought on
// demand in the region itself (not a Local Zone), and its GPU count.
func (p *product) gpuProduct(region string) bool {
	a := &p.Attributes
	if !strings.HasPrefix(p.ProductFamily, "Compute Instance") || a.InstanceType == "" {
		return false
	}
	if a.GPU == "" || a.GPU == "NA" || a.GPU == "0" {
		return false
	}
	if a.OperatingSystem != "Linux" || a.Tenancy != "Shared" || a.PreInstalledSw != "NA" || a.CapacityStatus != "Used" {
		return false
	}
	if a.MarketOption != "" && a.MarketOption != "OnDemand" {
		return false
	}
	if a.LocationType != "" && a.LocationType != "AWS Region" {
		return false
	}
	if a.RegionCode != "" && a.RegionCode != region {
		return false
	}
	if a.LicenseModel != "" && a.LicenseModel != "No License required" {
		return false
	}
	return a.UsageType == "" || strings.Contains(a.UsageType, "BoxUsage")
}

// term is an on-demand offer term of one SKU.
type term struct {
	PriceDimensions map[string]struct {
		Unit         string            `json:"unit"`
		BeginRange   string            `json:"beginRange"`
		PricePerUnit map[string]string `json:"pricePerUnit"`
	} `json:"priceDimensions"`
}

// skip discards a JSON value without keeping its bytes.
type skip struct{}

func (*skip) UnmarshalJSON([]byte) error { return nil }

// DecodeOffers streams one region's bulk offer file and keeps its GPU
// instances' on-demand USD hourly prices. The file's products must come
// before its terms, as AWS writes them: a term is kept only for a product
// already known to be a GPU instance, which is what keeps memory bounded.
// Values are decoded one product or one SKU's terms at a time; reserved and
// other terms are skipped SKU by SKU.
func DecodeOffers(r io.Reader, region string) (OfferFile, error) {
	var out OfferFile
	dec := json.NewDecoder(r)
	if err := delim(dec, '{'); err != nil {
		return out, err
	}
	gpu := map[string]*product{} // GPU products by SKU
	prices := map[string]float64{}
	seenProducts := false
	for dec.More() {
		key, err := str(dec)
		if err != nil {
			return out, err
		}
		switch key {
		case "version":
			if err := dec.Decode(&out.Version); err != nil {
				return out, fmt.Errorf("decoding version: %w", err)
			}
		case "products":
			seenProducts = true
			err = object(dec, func(sku string) error {
				var p product
				if err := dec.Decode(&p); err != nil {
					return fmt.Errorf("decoding product %s: %w", sku, err)
				}
				if p.gpuProduct(region) {
					gpu[sku] = &p
				}
				return nil
			})
		case "terms":
			if !seenProducts {
				return out, errors.New("offer file has its terms before its products")
			}
			err = object(dec, func(kind string) error {
				return object(dec, func(sku string) error {
					if kind != "OnDemand" || gpu[sku] == nil {
						return dec.Decode(&skip{})
					}
					var terms map[string]term
					if err := dec.Decode(&terms); err != nil {
						return fmt.Errorf("decoding on-demand terms of %s: %w", sku, err)
					}
					if p, ok := hourlyUSD(terms); ok {
						prices[sku] = p
					}
					return nil
				})
			})
		default:
			err = dec.Decode(&skip{})
		}
		if err != nil {
			return out, err
		}
	}
	if err := delim(dec, '}'); err != nil {
		return out, err
	}
	for sku, p := range gpu {
		price, ok := prices[sku]
		if !ok {
			continue
		}
		a := &p.Attributes
		count, err := strconv.ParseFloat(a.GPU, 64)
		if err != nil || count <= 0 {
			continue
		}
		if count != float64(int(count)) {
			out.Fractional = append(out.Fractional, a.InstanceType)
			continue
		}
		row := OnDemandRow{InstanceType: a.InstanceType, GPUCount: int(count), PriceHourly: price,
			VCPUs: number(a.VCPU), MemoryGiB: number(a.Memory)}
		if m := number(a.GPUMemory); m > 0 {
			row.GPUMemoryGiB = m / count
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// hourlyUSD is the on-demand hourly USD rate of a SKU's terms: the first
// dimension priced per hour from zero usage.
func hourlyUSD(terms map[string]term) (float64, bool) {
	for _, t := range terms {
		for _, d := range t.PriceDimensions {
			if d.Unit != "Hrs" || (d.BeginRange != "" && d.BeginRange != "0") {
				continue
			}
			p, err := strconv.ParseFloat(d.PricePerUnit["USD"], 64)
			if err == nil && p > 0 && p < 1e6 {
				return p, true
			}
		}
	}
	return 0, false
}

// number reads "2,048 GiB", "192" or "640 GB" as its leading number.
func number(s string) float64 {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e7 {
		return 0
	}
	return f
}

func delim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reading offer file: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("reading offer file: got %v, want %v", t, want)
	}
	return nil
}

func str(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("reading offer file: %w", err)
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("reading offer file: got %v, want a key", t)
	}
	return s, nil
}

// object calls each for every key of the object that starts at the decoder;
// each must consume the key's value.
func object(dec *json.Decoder, each func(key string) error) error {
	if err := delim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		k, err := str(dec)
		if err != nil {
			return err
		}
		if err := each(k); err != nil {
			return err
		}
	}
	return delim(dec, '}')
}
