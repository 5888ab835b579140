package azureprice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// DefaultURL is the Retail Prices API.
const DefaultURL = "https://prices.azure.com/api/retail/prices"

// maxPageBytes bounds one page; real pages of 1,000 meters are under 1 MB.
const maxPageBytes = 32 << 20

// maxPages bounds the pages of one region: a region has a few thousand VM
// meters, 100 to 1,000 per page, so this is a loop, not data.
const maxPages = 2000

// Config configures a Source. Zero values are defaults.
type Config struct {
	// URL is the API (DefaultURL).
	URL string
	// Transport sends the requests (http.DefaultClient).
	Transport policy.Transporter
	// MaxRetries is how often a throttled or failed request is retried (5).
	MaxRetries int32
	// RetryDelay is the first backoff when no Retry-After is sent (2s).
	RetryDelay time.Duration
	// MaxRetryDelay caps a wait; a Retry-After above it is not waited for
	// and the request fails (2m: the API asks for about a minute).
	MaxRetryDelay time.Duration
	// Concurrency bounds the regions queried at once (4).
	Concurrency int
}

// Source prices Azure.
type Source struct {
	cfg Config
	pl  runtime.Pipeline
}

// New returns a Source with defaults filled in.
func New(cfg Config) *Source {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 2 * time.Second
	}
	if cfg.MaxRetryDelay == 0 {
		cfg.MaxRetryDelay = 2 * time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	opts := &policy.ClientOptions{
		Transport: cfg.Transport,
		Retry:     policy.RetryOptions{MaxRetries: cfg.MaxRetries, RetryDelay: cfg.RetryDelay, MaxRetryDelay: cfg.MaxRetryDelay},
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultClient
	}
	return &Source{cfg: cfg, pl: runtime.NewPipeline("quartermaster/pricing", "v1", runtime.PipelineOptions{}, opts)}
}

// Cloud is costing.Azure.
func (s *Source) Cloud() string { return costing.Azure }

// Fetch queries each region, a few at a time.
func (s *Source) Fetch(ctx context.Context, req pricing.Request) (pricing.Result, error) {
	var res pricing.Result
	shapes := pricing.NewShapeIndex(req.Shapes)
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, region := range req.Regions {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, fmt.Errorf("azure %s: %w", region, ctx.Err()))
				mu.Unlock()
				return
			}
			offers, skipped, err := s.region(ctx, region, shapes)
			mu.Lock()
			defer mu.Unlock()
			res.Offers = append(res.Offers, offers...)
			res.Skipped = append(res.Skipped, skipped...)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

// regionURL is the first page of a region's VM consumption prices.
func (s *Source) regionURL(region string) string {
	q := url.Values{}
	q.Set("$filter", fmt.Sprintf("serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '%s'", region))
	return s.cfg.URL + "?" + q.Encode()
}

// price is the current price of a meter: the latest effective one.
type price struct {
	value float64
	since string
}

func (p *price) offer(v float64, since string) {
	if p.value == 0 || since > p.since {
		p.value, p.since = v, since
	}
}

func (s *Source) region(ctx context.Context, region string, shapes pricing.ShapeIndex) ([]costing.Offer, []pricing.Skip, error) {
	onDemand, spot := map[string]*price{}, map[string]*price{}
	link := s.regionURL(region)
	seen := map[string]bool{}
	for n := 0; link != ""; n++ {
		if n >= maxPages || seen[link] {
			return nil, nil, fmt.Errorf("azure %s: reading %s: NextPageLink loops or runs past %d pages", region, link, maxPages)
		}
		seen[link] = true
		page, err := s.page(ctx, link)
		if err != nil {
			return nil, nil, fmt.Errorf("azure %s: reading %s: %w", region, link, err)
		}
		for i := range page.Items {
			it := &page.Items[i]
			if it.ArmRegionName != region {
				continue
			}
			m := onDemand
			switch it.Kind() {
			case meterSpot:
				m = spot
			case "":
				continue
			}
			if m[it.ArmSkuName] == nil {
				m[it.ArmSkuName] = &price{}
			}
			m[it.ArmSkuName].offer(it.RetailPrice, it.EffectiveStartDate)
		}
		link = page.NextPageLink
	}
	var offers []costing.Offer
	var skipped []pricing.Skip
	for _, sku := range slices.Sorted(maps.Keys(onDemand)) {
		shape, ok := shapes[sku]
		if !ok {
			// N-series sizes are the GPU ones; the rest are CPU sizes
			// the catalog does not sell.
			if strings.HasPrefix(sku, "Standard_N") {
				skipped = append(skipped, pricing.Skip{Region: region, What: sku,
					Reason: "GPU size not in the embedded catalog (the Retail Prices API carries no shape)"})
			}
			continue
		}
		o := costing.Offer{Cloud: costing.Azure, Region: region, InstanceType: sku, GPUModel: shape.GPUModel, GPUCount: shape.GPUCount,
			PriceHourly: onDemand[sku].value, Source: "azure-retail-prices"}
		if p, ok := spot[sku]; ok {
			o.SpotPriceHourly = p.value
		}
		offers = append(offers, o)
	}
	return offers, skipped, nil
}

// page GETs one page through the pipeline, which retries throttling.
func (s *Source) page(ctx context.Context, link string) (Page, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, link)
	if err != nil {
		return Page{}, err
	}
	resp, err := s.pl.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return Page{}, runtime.NewResponseError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		return Page{}, err
	}
	if len(data) > maxPageBytes {
		return Page{}, fmt.Errorf("page larger than %d MiB", maxPageBytes>>20)
	}
	return ParsePage(data)
}
