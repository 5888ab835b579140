package awsprice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// DefaultBaseURL is the Price List bulk API.
const DefaultBaseURL = "https://pricing.us-east-1.amazonaws.com"

// indexPath is region_index.json of the EC2 offer.
const indexPath = "/offers/v1.0/aws/AmazonEC2/current/region_index.json"

// Config configures a Source. Zero values are defaults.
type Config struct {
	// BaseURL is the bulk API's root (DefaultBaseURL).
	BaseURL string
	// HTTPClient downloads the files (http.DefaultClient). Its timeout, if
	// any, must allow for a file of hundreds of MB; ctx bounds the refresh.
	HTTPClient *http.Client
	// State records the versions downloaded; nil downloads every region.
	State *State
	// Spot returns the EC2 client of a region; nil: no spot prices.
	Spot func(region string) SpotAPI
	// SpotWindow is the price history the spot median is taken over (7 days).
	SpotWindow time.Duration
	// Zones emits, for instance types with spot history, one offer per
	// availability zone with that zone's median instead of one per region.
	Zones bool
	// Concurrency bounds the regions priced at once (2): each download is
	// large, and the decoder is CPU-bound.
	Concurrency int
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Source prices AWS.
type Source struct{ cfg Config }

// New returns a Source with defaults filled in.
func New(cfg Config) *Source {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.SpotWindow <= 0 {
		cfg.SpotWindow = 7 * 24 * time.Hour
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg}
}

// Cloud is costing.AWS.
func (s *Source) Cloud() string { return costing.AWS }

// regionIndex is region_index.json.
type regionIndex struct {
	Regions map[string]struct {
		RegionCode        string `json:"regionCode"`
		CurrentVersionURL string `json:"currentVersionUrl"`
	} `json:"regions"`
}

// Fetch prices the requested regions: region_index.json once, then each
// region's offer file (unless unchanged) and spot history, a few regions
// at a time.
func (s *Source) Fetch(ctx context.Context, req pricing.Request) (pricing.Result, error) {
	var res pricing.Result
	idxURL := s.cfg.BaseURL + indexPath
	var idx regionIndex
	if err := s.getJSON(ctx, idxURL, 16<<20, &idx); err != nil {
		return res, fmt.Errorf("aws: reading %s: %w", idxURL, err)
	}
	shapes := pricing.NewShapeIndex(req.Shapes)
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, region := range req.Regions {
		entry, ok := idx.Regions[region]
		if !ok || entry.CurrentVersionURL == "" {
			mu.Lock()
			res.Skipped = append(res.Skipped, pricing.Skip{Region: region, Reason: "not in region_index.json"})
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, fmt.Errorf("aws %s: %w", region, ctx.Err()))
				mu.Unlock()
				return
			}
			part, err := s.region(ctx, region, entry.CurrentVersionURL, shapes)
			mu.Lock()
			defer mu.Unlock()
			res.Offers = append(res.Offers, part.Offers...)
			res.Skipped = append(res.Skipped, part.Skipped...)
			res.Unchanged = append(res.Unchanged, part.Unchanged...)
			for _, g := range part.UnknownGPUs {
				res.AddUnknownGPU(g)
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	slices.Sort(res.Unchanged)
	return res, errors.Join(errs...)
}

// region prices one region. On a spot failure the on-demand offers are
// still returned, with the error.
func (s *Source) region(ctx context.Context, region, versionPath string, shapes pricing.ShapeIndex) (pricing.Result, error) {
	var res pricing.Result
	rows, ok := s.cfg.State.unchanged(region, versionPath)
	if ok {
		res.Unchanged = append(res.Unchanged, region)
	} else {
		url := s.cfg.BaseURL + versionPath
		if strings.HasPrefix(versionPath, "https://") || strings.HasPrefix(versionPath, "http://") {
			url = versionPath // an absolute URL, should the index ever carry one
		}
		f, err := s.download(ctx, url, region)
		if err != nil {
			return res, fmt.Errorf("aws %s: reading %s: %w", region, url, err)
		}
		for _, it := range f.Fractional {
			res.Skipped = append(res.Skipped, pricing.Skip{Region: region, What: it, Reason: "a fraction of a GPU"})
		}
		rows = f.Rows
		s.cfg.State.set(region, versionPath, rows)
	}
	source := "aws-price-list/" + versionOf(versionPath)
	var offers []costing.Offer
	for _, r := range rows {
		model, ok := gpuModel(r.InstanceType, shapes)
		if !ok {
			res.AddUnknownGPU(model)
			res.Skipped = append(res.Skipped, pricing.Skip{Region: region, What: r.InstanceType, Reason: "unknown GPU: " + model})
			continue
		}
		offers = append(offers, costing.Offer{Cloud: costing.AWS, Region: region, InstanceType: r.InstanceType, GPUModel: model,
			GPUCount: r.GPUCount, GPUMemoryGiB: r.GPUMemoryGiB, VCPUs: r.VCPUs, MemoryGiB: r.MemoryGiB, PriceHourly: r.PriceHourly, Source: source})
	}
	if s.cfg.Spot == nil || len(offers) == 0 {
		res.Offers = offers
		return res, nil
	}
	var types []string
	for _, o := range offers {
		types = append(types, o.InstanceType)
	}
	api := s.cfg.Spot(region)
	spot, err := fetchSpot(ctx, api, types, s.cfg.SpotWindow, s.cfg.Now())
	if err != nil {
		res.Offers = offers
		return res, fmt.Errorf("aws %s: spot prices (EC2 DescribeSpotPriceHistory at %s): %w", region, endpoint(api, region), err)
	}
	for _, o := range offers {
		p, ok := spot.region[o.InstanceType]
		if !ok {
			res.Offers = append(res.Offers, o)
			continue
		}
		o.Source += "+ec2-spot-history"
		if !s.cfg.Zones {
			o.SpotPriceHourly = p
			res.Offers = append(res.Offers, o)
			continue
		}
		for _, az := range slices.Sorted(maps.Keys(spot.zone[o.InstanceType])) {
			z := o
			z.Zone, z.SpotPriceHourly = az, spot.zone[o.InstanceType][az]
			res.Offers = append(res.Offers, z)
		}
	}
	return res, nil
}

// endpoint is the EC2 endpoint a spot client calls, for errors: the SDK's
// own errors name the operation but not the URL.
func endpoint(api SpotAPI, region string) string {
	if c, ok := api.(interface{ Options() ec2.Options }); ok {
		if e := c.Options().BaseEndpoint; e != nil {
			return *e
		}
	}
	return "https://ec2." + region + ".amazonaws.com"
}

// download streams a region's offer file through DecodeOffers.
func (s *Source) download(ctx context.Context, url, region string) (OfferFile, error) {
	body, err := s.get(ctx, url)
	if err != nil {
		return OfferFile{}, err
	}
	defer body.Close()
	return DecodeOffers(body, region)
}

func (s *Source) get(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		// The caller names the URL; url.Error would name it twice.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return resp.Body, nil
}

func (s *Source) getJSON(ctx context.Context, url string, limit int64, v any) error {
	body, err := s.get(ctx, url)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := json.NewDecoder(io.LimitReader(body, limit)).Decode(v); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}

// versionOf is the version segment of an offer file path
// (/offers/v1.0/aws/AmazonEC2/20261101000000/us-east-1/index.json).
func versionOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 3 {
		return parts[len(parts)-3]
	}
	return path
}

// familyGPU names the GPU of the GPU instance families, in AWS's words:
// the offer file gives a GPU count but no GPU model. Families missing here
// and from the embedded catalog are reported as unknown, not guessed.
var familyGPU = map[string]string{
	"p5": "NVIDIA H100", "p5e": "NVIDIA H200", "p5en": "NVIDIA H200",
	"p4d": "NVIDIA A100", "p4de": "NVIDIA A100 80GB",
	"p3": "NVIDIA V100", "p3dn": "NVIDIA V100",
	"g6e": "NVIDIA L40S", "g6": "NVIDIA L4", "gr6": "NVIDIA L4",
	"g5": "NVIDIA A10G", "g4dn": "NVIDIA T4",
	"g5g": "NVIDIA T4G", "g4ad": "AMD Radeon Pro V520", "g3": "NVIDIA M60", "g3s": "NVIDIA M60",
	"p2": "NVIDIA K80", "p6-b200": "NVIDIA B200", "p6e-gb200": "NVIDIA GB200",
}

// gpuModel is an instance type's canonical GPU model: the embedded
// catalog's, else its family's. When unknown it returns the name to report.
func gpuModel(instanceType string, shapes pricing.ShapeIndex) (string, bool) {
	if s, ok := shapes[instanceType]; ok {
		return s.GPUModel, true
	}
	family, _, _ := strings.Cut(instanceType, ".")
	name, ok := familyGPU[family]
	if !ok {
		return "instance family " + family, false
	}
	if m, ok := costing.KnownGPUModel(name); ok {
		return m, true
	}
	return name + " (" + family + ")", false
}
