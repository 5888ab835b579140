package reload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
)

// Options configure a Placement.
type Options struct {
	// CatalogPath is the catalog file to watch; empty serves Catalog for
	// the life of the process (the embedded catalog).
	CatalogPath string
	// ParseCatalog parses the catalog file (see CatalogParser); required
	// with CatalogPath.
	ParseCatalog func(data []byte) (*costing.Catalog, error)
	// Catalog is served when CatalogPath is empty.
	Catalog *costing.Catalog
	// QuotaPath is the quota file to watch (contract 4.4b); empty means
	// no quotas.
	QuotaPath string
	// Build makes a placer from a catalog and quotas; nil is placement.New.
	Build func(*costing.Catalog, quota.GPUCounts) *placement.Placer
	// Metrics may be nil.
	Metrics *Metrics
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Placement keeps a placer built from the catalog and quota files in
// service. Every read is one atomic load: the request path takes no lock,
// and a decision sees one catalog and one quota table from start to end.
type Placement struct {
	o       Options
	catalog *File[*costing.Catalog]
	quota   *File[quota.GPUCounts]

	current atomic.Pointer[snapshot]
	mu      sync.Mutex // serialises Check
}

// snapshot is everything derived from one catalog and one quota version.
type snapshot struct {
	placer  *placement.Placer
	catalog *Version[*costing.Catalog]
	quota   *Version[quota.GPUCounts]
	// models maps a cloud and instance type to its GPU model, for the
	// cluster informers' accounting of nodes and pinned pods.
	models map[[2]string]string
}

// noQuota is the quota version without --quota.
var noQuota = &Version[quota.GPUCounts]{Revision: "none"}

// New loads the catalog and quota files, which must be valid: a webhook
// that cannot place anything must not become ready.
func New(o Options) (*Placement, error) {
	if o.Build == nil {
		o.Build = placement.New
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Placement{o: o}
	var cat *Version[*costing.Catalog]
	switch {
	case o.CatalogPath != "":
		if o.ParseCatalog == nil {
			return nil, errors.New("reload: a catalog file needs ParseCatalog")
		}
		f, err := NewFile(o.CatalogPath, o.ParseCatalog)
		if err != nil {
			return nil, fmt.Errorf("loading catalog: %w", err)
		}
		p.catalog, cat = f, f.Current()
	case o.Catalog != nil:
		cat = &Version[*costing.Catalog]{Value: o.Catalog, Revision: fixedRevision(o.Catalog)}
	default:
		return nil, errors.New("reload: a catalog file or a catalog is required")
	}
	counts := noQuota
	if o.QuotaPath != "" {
		// Quota entries are checked against the names (regions, GPU
		// models) of the catalog in service when the file is read.
		names := func() *costing.Names {
			if s := p.current.Load(); s != nil {
				return s.catalog.Value.Names()
			}
			return cat.Value.Names()
		}
		f, err := NewFile(o.QuotaPath, func(data []byte) (quota.GPUCounts, error) { return parseQuota(data, names()) })
		if err != nil {
			return nil, fmt.Errorf("loading quotas: %w", err)
		}
		p.quota, counts = f, f.Current()
	}
	p.publish(cat, counts)
	return p, nil
}

// Placer is the placer in service.
func (p *Placement) Placer() *placement.Placer { return p.current.Load().placer }

// Catalog is the catalog in service.
func (p *Placement) Catalog() *costing.Catalog { return p.current.Load().catalog.Value }

// CatalogRevision is a short content hash of the catalog in service, the
// same on every replica that reads the same file.
func (p *Placement) CatalogRevision() string { return p.current.Load().catalog.Revision }

// QuotaRevision is a short content hash of the quota file in service, or
// "none".
func (p *Placement) QuotaRevision() string { return p.current.Load().quota.Revision }

// ModelOf is the catalog's GPU model of an instance type in a cloud, or ""
// (clusterstate.InformerOptions.ModelOf).
func (p *Placement) ModelOf(cloud, instanceType string) string {
	return p.current.Load().models[[2]string{cloud, instanceType}]
}

// Check looks at both files once and, if either changed and parses, puts a
// new placer in service. It reports whether it did. Each rejected content
// is logged, counted (quartermaster_webhook_reload_failures_total) and
// returned once; the other file's change still goes into service.
func (p *Placement) Check() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.current.Load()
	cat, quota := old.catalog, old.quota
	var errs []error
	check := func(source, path string, changed bool, err error, failing bool) bool {
		switch {
		case errors.Is(err, ErrUnsettled):
			p.o.Logger.Info("file changing while read; retrying at the next check", "source", source, "path", path)
		case err != nil:
			p.o.Metrics.rejected(source)
			p.o.Logger.Error("reload rejected; keeping the version in service", "source", source, "path", path, "err", err)
			errs = append(errs, err)
		case !failing:
			p.o.Metrics.settled(source)
		}
		if changed {
			p.o.Metrics.reloaded(source)
		}
		return changed
	}
	if p.catalog != nil {
		changed, err := p.catalog.Check()
		if check(SourceCatalog, p.catalog.Path(), changed, err, p.catalog.Failing()) {
			cat = p.catalog.Current()
		}
	}
	if p.quota != nil {
		changed, err := p.quota.Check()
		if check(SourceQuota, p.quota.Path(), changed, err, p.quota.Failing()) {
			quota = p.quota.Current()
		}
	}
	if cat == old.catalog && quota == old.quota {
		return false, errors.Join(errs...)
	}
	p.publish(cat, quota)
	p.o.Logger.Info("catalog and quotas reloaded", "catalogRevision", cat.Revision, "previousCatalog", old.catalog.Revision,
		"asOf", cat.Value.Meta().AsOf, "offers", cat.Value.Len(), "quotaRevision", quota.Revision, "previousQuota", old.quota.Revision)
	return true, errors.Join(errs...)
}

// Run checks every interval until ctx ends, handing each new placer to
// publish (the admission Evaluator's SetPlacer).
func (p *Placement) Run(ctx context.Context, interval time.Duration, publish func(*placement.Placer)) {
	if p.catalog == nil && p.quota == nil {
		return // nothing on disk to watch
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if changed, _ := p.Check(); changed { // rejections are logged and counted in Check
				publish(p.Placer())
			}
		}
	}
}

func (p *Placement) publish(cat *Version[*costing.Catalog], quota *Version[quota.GPUCounts]) {
	models := make(map[[2]string]string, cat.Value.Len())
	for _, o := range cat.Value.Offers() {
		models[[2]string{o.Cloud, o.InstanceType}] = o.GPUModel
	}
	p.current.Store(&snapshot{placer: p.o.Build(cat.Value, quota.Value), catalog: cat, quota: quota, models: models})
	p.o.Metrics.serving(cat, quota.Revision)
}

// parseQuota reads a quota file. An empty file is rejected rather than
// read as "no limits": it is what a file being rewritten in place looks
// like, and lifting every quota by accident is the costlier mistake. No
// limits is written `quotas: []`. Entries naming a cloud, region or GPU
// model that names does not know are rejected like any broken file: the
// version in service stays.
func parseQuota(data []byte, names *costing.Names) (quota.GPUCounts, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty quota file (write `quotas: []` for no limits)")
	}
	return quota.ReadGPUCounts(bytes.NewReader(data), "quota", names)
}

// CatalogParser returns the parser of a catalog file in format ("csv" or
// "skypilot"; cloud names a SkyPilot file's cloud). regions is the region
// table: the caller passes the one the policies and the workload extractor
// were built with, so that a reloaded catalog cannot disagree with them.
//
// A catalog without offers is rejected: it is what a truncated file looks
// like, and serving it would deny every GPU workload as unplaceable.
func CatalogParser(format, cloud, source string, regions *costing.Regions) (func([]byte) (*costing.Catalog, error), error) {
	var read func([]byte) (*costing.Catalog, error)
	switch format {
	case "csv", "":
		read = func(data []byte) (*costing.Catalog, error) {
			return costing.ReadCSV(bytes.NewReader(data), regions, source)
		}
	case "skypilot":
		read = func(data []byte) (*costing.Catalog, error) {
			c, _, err := costing.ReadSkyPilot(bytes.NewReader(data), cloud, regions, source)
			return c, err
		}
	default:
		return nil, fmt.Errorf("catalog format %q: want csv or skypilot", format)
	}
	return func(data []byte) (*costing.Catalog, error) {
		c, err := read(data)
		if err == nil && c.Len() == 0 {
			err = errors.New("the catalog has no offers")
		}
		return c, err
	}, nil
}

// fixedRevision names a catalog that is not watched (the embedded one): by
// its own revision, else by the hash of its CSV form, so that the decision
// log tells two builds' embedded catalogs apart.
func fixedRevision(c *costing.Catalog) string {
	if r := c.Meta().Revision; r != "" {
		return r
	}
	var b bytes.Buffer
	if err := costing.WriteCSV(&b, c); err != nil {
		return "unknown"
	}
	return revisionOf(b.Bytes())
}
