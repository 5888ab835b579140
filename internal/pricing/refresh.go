package pricing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Config is one refresh.
type Config struct {
	// Sources are the clouds to price, one per cloud.
	Sources []Source
	// Regions narrows each cloud's regions; a cloud absent from the map is
	// priced in every region of the region table. Every name must be in
	// the table: an offer in a region without a jurisdiction satisfies no
	// residency rule, and ReadCSV refuses it.
	Regions map[string][]string
	// Shapes is the catalog whose instance shapes fill what the APIs do not
	// carry (nil: the embedded catalog).
	Shapes *costing.Catalog
	// RegionTable is the region table (nil: the embedded one).
	RegionTable *costing.Regions
	// AsOf is the date written into the catalog, YYYY-MM-DD.
	AsOf string
	// Now is the clock, for durations (nil: time.Now).
	Now func() time.Time
}

// Report says what a refresh did, per cloud, for the summary on stderr.
type Report struct {
	Clouds   []CloudReport `json:"clouds"`
	Duration time.Duration `json:"duration"`
}

// CloudReport is one cloud's part of a refresh.
type CloudReport struct {
	Cloud       string        `json:"cloud"`
	Regions     int           `json:"regions"`
	Rows        int           `json:"rows"`
	Unchanged   []string      `json:"unchanged,omitempty"`
	Skipped     []Skip        `json:"skipped,omitempty"`
	UnknownGPUs []string      `json:"unknownGPUs,omitempty"`
	Duration    time.Duration `json:"duration"`
	// Err is why the cloud failed, in whole or in part; its rows that were
	// priced are kept.
	Err string `json:"error,omitempty"`
}

// CloudError is a cloud that failed, wholly or for some regions.
type CloudError struct {
	Cloud string
	Err   error
}

func (e *CloudError) Error() string { return fmt.Sprintf("refreshing %s prices: %v", e.Cloud, e.Err) }
func (e *CloudError) Unwrap() error { return e.Err }

// Refresh runs every source concurrently and builds one catalog from their
// offers. A cloud that fails loses nothing of the others: the catalog holds
// every offer that was priced, and the error joins one CloudError per failed
// cloud. The catalog is nil only when nothing valid was priced at all.
func Refresh(ctx context.Context, cfg Config) (*costing.Catalog, Report, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	regions := cfg.RegionTable
	if regions == nil {
		regions = costing.DefaultRegions()
	}
	shapes := cfg.Shapes
	if shapes == nil {
		var err error
		if shapes, err = costing.DefaultCatalog(); err != nil {
			return nil, Report{}, err
		}
	}
	if err := costing.ParseAsOf(cfg.AsOf); err != nil {
		return nil, Report{}, err
	}
	type outcome struct {
		res Result
		err error
		rep CloudReport
	}
	outs := make([]outcome, len(cfg.Sources))
	var wg sync.WaitGroup
	// One goroutine per cloud (three at most); each source bounds its own
	// concurrency across regions.
	for i, src := range cfg.Sources {
		req, err := request(src.Cloud(), cfg.Regions, regions, shapes)
		if err != nil {
			outs[i] = outcome{err: err, rep: CloudReport{Cloud: src.Cloud()}}
			continue
		}
		if len(req.Regions) == 0 {
			// Asking a cloud for no region would still list its prices
			// (GCP's SKUs, AWS's region index) for nothing.
			outs[i] = outcome{rep: CloudReport{Cloud: src.Cloud()}, res: Result{Skipped: []Skip{{Reason: "no region of this cloud was asked for"}}}}
			continue
		}
		wg.Go(func() {
			t0 := now()
			res, err := src.Fetch(ctx, req)
			outs[i] = outcome{res: res, err: err, rep: CloudReport{Cloud: src.Cloud(), Regions: len(req.Regions), Duration: now().Sub(t0)}}
		})
	}
	wg.Wait()

	var offers []costing.Offer
	seen := map[string]bool{}
	var errs []error
	rep := Report{}
	for _, out := range outs {
		cr := out.rep
		kept, skipped := complete(out.res.Offers, shapes, regions)
		for _, o := range kept {
			if seen[o.Key()] {
				skipped = append(skipped, Skip{Region: o.Region, What: o.InstanceType, Reason: "priced twice; the first price is kept"})
				continue
			}
			seen[o.Key()] = true
			offers = append(offers, o)
			cr.Rows++
		}
		cr.Skipped = append(slices.Clone(out.res.Skipped), skipped...)
		cr.Unchanged = out.res.Unchanged
		cr.UnknownGPUs = slices.Sorted(slices.Values(out.res.UnknownGPUs))
		if out.err != nil {
			cr.Err = out.err.Error()
			errs = append(errs, &CloudError{Cloud: cr.Cloud, Err: out.err})
		}
		rep.Clouds = append(rep.Clouds, cr)
	}
	rep.Duration = now().Sub(start)
	err := errors.Join(errs...)
	if len(offers) == 0 {
		return nil, rep, cmp.Or(err, errors.New("refreshing prices: no offer was priced"))
	}
	cat, cerr := costing.NewCatalog(offers, regions, costing.Meta{AsOf: cfg.AsOf, Source: sourceName(cfg.Sources)})
	if cerr != nil {
		return nil, rep, errors.Join(err, fmt.Errorf("building the refreshed catalog: %w", cerr))
	}
	return cat, rep, err
}

func sourceName(srcs []Source) string {
	s := "qm catalog refresh:"
	for _, src := range srcs {
		s += " " + src.Cloud()
	}
	return s
}

// request builds a source's request: its regions (checked against the
// table) and the embedded shapes of its cloud.
func request(cloud string, want map[string][]string, table *costing.Regions, shapes *costing.Catalog) (Request, error) {
	var req Request
	names := costing.NewNames(table, nil)
	if rs, ok := want[cloud]; ok {
		for _, r := range rs {
			if err := names.Region(cloud, r); err != nil {
				return req, fmt.Errorf("%s: %w", cloud, err)
			}
			req.Regions = append(req.Regions, r)
		}
	} else {
		for _, r := range table.All() {
			if r.Cloud == cloud {
				req.Regions = append(req.Regions, r.Region)
			}
		}
	}
	req.Shapes = CloudShapes(shapes, cloud)
	return req, nil
}

// CloudShapes is the catalog's offers of one cloud: a Request's Shapes.
func CloudShapes(cat *costing.Catalog, cloud string) []costing.Offer {
	var out []costing.Offer
	for _, o := range cat.Offers() {
		if o.Cloud == cloud {
			out = append(out, o)
		}
	}
	return out
}

// complete fills shape fields the API did not carry from the embedded
// catalog (same cloud and instance type, and the same GPU model when the
// source named one), and keeps only offers that make a valid catalog row,
// saying why it drops the others.
func complete(in []costing.Offer, shapes *costing.Catalog, regions *costing.Regions) ([]costing.Offer, []Skip) {
	var out []costing.Offer
	var skips []Skip
	for _, o := range in {
		if s, ok := shapeOf(o, shapes); ok {
			if o.GPUModel == "" {
				o.GPUModel, o.GPUCount = s.GPUModel, s.GPUCount
			}
			if o.GPUCount == 0 {
				o.GPUCount = s.GPUCount
			}
			if o.VCPUs == 0 {
				o.VCPUs = s.VCPUs
			}
			if o.MemoryGiB == 0 {
				o.MemoryGiB = s.MemoryGiB
			}
			if o.GPUMemoryGiB == 0 {
				o.GPUMemoryGiB = s.GPUMemoryGiB
			}
			if len(o.Capabilities) == 0 {
				o.Capabilities = s.Capabilities
			}
		}
		if o.GPUMemoryGiB == 0 {
			o.GPUMemoryGiB = costing.GPUMemoryGiB(o.GPUModel)
		}
		// A spot price at or above on-demand is not a discount anyone
		// would buy: the offer stays on-demand only (as the SkyPilot
		// importer does).
		if o.SpotPriceHourly >= o.PriceHourly {
			o.SpotPriceHourly = 0
		}
		switch {
		case !regions.Known(o.Cloud, o.Region):
			skips = append(skips, Skip{Region: o.Region, What: o.InstanceType, Reason: costing.SkipUnknownRegion})
		case o.GPUModel == "" || o.GPUCount == 0 || o.VCPUs == 0 || o.MemoryGiB == 0:
			skips = append(skips, Skip{Region: o.Region, What: o.InstanceType,
				Reason: "shape unknown: the API does not carry it and the embedded catalog does not list the instance type"})
		case !(o.PriceHourly > 0):
			skips = append(skips, Skip{Region: o.Region, What: o.InstanceType, Reason: "no on-demand price"})
		default:
			out = append(out, o)
		}
	}
	return out, skips
}

func shapeOf(o costing.Offer, shapes *costing.Catalog) (costing.Offer, bool) {
	var byType costing.Offer
	found := false
	for _, s := range shapes.Offers() {
		if s.Cloud != o.Cloud || s.InstanceType != o.InstanceType {
			continue
		}
		if o.GPUModel == "" || s.GPUModel == o.GPUModel {
			return s, true
		}
		if !found {
			byType, found = s, true
		}
	}
	// A GPU model the source named but the embedded shape does not carry
	// (n1 with another GPU): the host's vCPUs and memory still apply.
	if found {
		byType.GPUModel, byType.GPUCount, byType.GPUMemoryGiB = o.GPUModel, o.GPUCount, 0
	}
	return byType, found
}
