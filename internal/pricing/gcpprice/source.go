package gcpprice

import (
	"context"
	"fmt"
	"math"
	"slices"

	"google.golang.org/api/cloudbilling/v1"
	"google.golang.org/api/option"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// ComputeService is the Cloud Billing name of Compute Engine.
const ComputeService = "services/6F81-5844-456A"

// Config configures a Source.
type Config struct {
	// Options are the API client's options: an API key
	// (option.WithAPIKey) or credentials, and in tests an endpoint.
	// Without any, Application Default Credentials are used.
	Options []option.ClientOption
	// PageSize is the SKUs asked per page (5000, the API's maximum).
	PageSize int64
}

// Source prices GCP.
type Source struct{ cfg Config }

// New returns a Source.
func New(cfg Config) *Source {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 5000
	}
	return &Source{cfg: cfg}
}

// Cloud is costing.GCP.
func (s *Source) Cloud() string { return costing.GCP }

// Fetch lists every Compute Engine SKU, page by page (the API has no
// region filter, and one listing serves all regions), then prices each
// embedded shape in each requested region.
func (s *Source) Fetch(ctx context.Context, req pricing.Request) (pricing.Result, error) {
	var res pricing.Result
	svc, err := cloudbilling.NewService(ctx, s.cfg.Options...)
	if err != nil {
		return res, fmt.Errorf("gcp: creating the Cloud Billing client: %w", err)
	}
	table := NewTable()
	call := svc.Services.Skus.List(ComputeService).CurrencyCode("USD").PageSize(s.cfg.PageSize)
	pages := 0
	err = call.Pages(ctx, func(p *cloudbilling.ListSkusResponse) error {
		pages++
		for _, sku := range p.Skus {
			table.Add(sku)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("gcp: listing SKUs of %s at %s (page %d): %w", ComputeService, svc.BasePath, pages+1, err)
	}
	for _, u := range table.Unknown {
		res.AddUnknownGPU(u)
	}
	type shape struct {
		instanceType, model string
		gpus                int
		vcpus, mem          float64
	}
	var shapes []shape
	for _, o := range req.Shapes {
		sh := shape{o.InstanceType, o.GPUModel, o.GPUCount, o.VCPUs, o.MemoryGiB}
		if !slices.Contains(shapes, sh) {
			shapes = append(shapes, sh)
		}
	}
	for _, region := range req.Regions {
		for _, sh := range shapes {
			od, missing := table.Price(region, sh.instanceType, sh.model, sh.gpus, sh.vcpus, sh.mem, false)
			if missing != "" {
				res.Skipped = append(res.Skipped, pricing.Skip{Region: region, What: sh.instanceType + " " + sh.model,
					Reason: "no SKU for " + missing + " in the region"})
				continue
			}
			o := costing.Offer{Cloud: costing.GCP, Region: region, InstanceType: sh.instanceType, GPUModel: sh.model, GPUCount: sh.gpus,
				VCPUs: sh.vcpus, MemoryGiB: sh.mem, PriceHourly: round(od), Source: "gcp-cloud-billing"}
			if sp, missing := table.Price(region, sh.instanceType, sh.model, sh.gpus, sh.vcpus, sh.mem, true); missing == "" {
				o.SpotPriceHourly = round(sp)
			}
			res.Offers = append(res.Offers, o)
		}
	}
	return res, nil
}

// round drops the float noise of summing parts (1e-9 USD is the API's
// resolution).
func round(p float64) float64 { return math.Round(p*1e9) / 1e9 }
