package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/clusterstate"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/reload"
	"github.com/quartermaster-io/quartermaster/internal/workload"
	"github.com/quartermaster-io/quartermaster/policies"
)

// Deps are what the engine is given rather than builds. Every field may be
// left zero: an offline tool passes none.
type Deps struct {
	// Logger receives the engine's start and reload events; nil discards.
	Logger *slog.Logger
	// Registerer receives the reload and policy metrics; nil registers
	// none (offline tools and tests).
	Registerer prometheus.Registerer
	// ReloadFailures counts rejected reloads by source. The webhook passes
	// the counter its certificate reloads share, so that one alert covers
	// every reloaded input; nil makes the engine its own (when Registerer
	// is set).
	ReloadFailures *prometheus.CounterVec
	// Kube, when set, is the API server the cluster state is watched on
	// (informers); nil reads it from the snapshot files of Config.Facts.
	Kube *rest.Config
	// Policy, when set, is used instead of loading Config.Policies: the
	// Gherkin steps share one compiled bundle across scenarios, or stand in
	// a policy that never answers.
	Policy admission.PolicyEngine
}

// ClusterState is what the evaluator and the admission handler read about
// the cluster: a snapshot offline, informers in a cluster.
type ClusterState interface {
	admission.ClusterState
	encryption.ClaimSource
}

// Engine is a wired decision: everything Config named, loaded and
// connected. Build it with New; start its reloaders and informers with Run.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	kube bool

	prices    *reload.Placement
	usage     quota.GPUCounts
	state     ClusterState
	informers *clusterstate.Informers
	prov      placement.Provisioner
	policy    admission.PolicyEngine
	reloader  *policy.Reloader
	revision  func() string
	evaluator *admission.Evaluator

	checks []readiness
}

// readiness is one condition Ready waits for.
type readiness struct {
	name string
	ok   func() bool
}

// New validates cfg, loads every file it names and wires the evaluator.
// ctx bounds the loading (policy compilation); it does not start anything:
// Run does. Errors name the flag and the file at fault.
func New(ctx context.Context, cfg Config, deps Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, log: deps.Logger, kube: deps.Kube != nil}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	// In dependency order: the catalog's names check the quota and usage
	// entries, its regions feed the extractor, evidence and policies, and
	// its instance types let the informers count GPUs of nodes.
	if err := e.buildPrices(deps); err != nil {
		return nil, err
	}
	cat := e.prices.Catalog()
	e.log.Info("catalog loaded", "offers", cat.Len(), "source", cat.Meta().Source, "asOf", cat.Meta().AsOf,
		"revision", e.prices.CatalogRevision(), "quotaRevision", e.prices.QuotaRevision())
	usage, err := readCounts(cfg.Sources.Usage, "--usage", cat.Names())
	if err != nil {
		return nil, err
	}
	e.usage = usage
	if err := e.buildState(deps.Kube); err != nil {
		return nil, err
	}
	if err := e.buildPolicy(ctx, deps); err != nil {
		return nil, err
	}
	if err := e.buildEvaluator(); err != nil {
		return nil, err
	}
	return e, nil
}

// buildPrices loads the catalog (--catalog, else the embedded one) and the
// quotas through the reloader, also when nothing reloads: one loader means
// one set of checks (an empty catalog or quota file is refused everywhere)
// and one catalog revision for the decision log.
func (e *Engine) buildPrices(deps Deps) error {
	src := e.cfg.Sources
	var m *reload.Metrics
	if deps.Registerer != nil {
		var err error
		if m, err = reload.NewMetrics(deps.Registerer, deps.ReloadFailures, nil); err != nil {
			return fmt.Errorf("registering the reload metrics: %w", err)
		}
	}
	o := reload.Options{CatalogPath: src.Catalog, QuotaPath: src.Quota, Metrics: m, Logger: e.log}
	if src.Catalog == "" {
		cat, err := costing.DefaultCatalog()
		if err != nil {
			return err
		}
		o.Catalog = cat
	} else {
		// Every catalog is read with the embedded region table, at start
		// and on reload, so that the extractor, evidence and policies
		// built from it below never disagree with a reloaded catalog.
		parse, err := reload.CatalogParser(src.CatalogFormat, src.CatalogCloud, src.Catalog, costing.DefaultRegions())
		if err != nil {
			return fmt.Errorf("--catalog-format: %w", err)
		}
		o.ParseCatalog = parse
	}
	p, err := reload.New(o)
	if err != nil {
		return fmt.Errorf("%s: %w", flagOf(src, err), err)
	}
	e.prices = p
	return nil
}

// flagOf names the flag of a reload.New error. reload.New reads the
// catalog first and says "loading quotas" of the quota file; it has no typed
// error to tell them apart (a change there would let this go).
func flagOf(src SourceConfig, err error) string {
	if src.Quota != "" && strings.HasPrefix(err.Error(), "loading quotas") {
		return "--quota"
	}
	return "--catalog"
}

// readCounts reads a quota-shaped file (the offline usage), checking its
// entries against the catalog's regions and GPU models; "" is none.
func readCounts(path, flag string, names *costing.Names) (quota.GPUCounts, error) {
	if path == "" {
		return nil, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: opening %s: %w", flag, path, err)
	}
	defer file.Close()
	c, err := quota.ReadGPUCounts(file, strings.TrimPrefix(flag, "--"), names)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", flag, path, err)
	}
	return c, nil
}

// buildPolicy loads the bundle: none, a stand-in from Deps, the embedded
// library, a directory loaded once, or a directory hot-reloaded.
func (e *Engine) buildPolicy(ctx context.Context, deps Deps) error {
	pc := e.cfg.Policies
	e.revision = func() string { return "" }
	switch {
	case deps.Policy != nil:
		e.policy = deps.Policy
		if r, ok := deps.Policy.(interface{ Revision() string }); ok {
			e.revision = r.Revision
		}
		return nil
	case pc.None:
		return nil
	}
	// The policies see the catalog's region table as data.config.regions,
	// so that a rule and placement never disagree on a jurisdiction.
	opts := policy.Options{Regions: e.prices.Catalog().Regions()}
	switch {
	case pc.Dir == "":
		// The embedded library's own tests run in CI (qm test policies/rego).
		b, err := policy.Load(ctx, policies.FS(), opts)
		if err != nil {
			return fmt.Errorf("loading the embedded policy library: %w", err)
		}
		e.log.Info("policy library loaded", "source", "embedded", "revision", b.Revision(), "packages", b.Packages())
		e.policy, e.revision = b, b.Revision
	case e.cfg.Reload.Policies == 0:
		// As the webhook loads it: a bundle whose own tests fail is refused
		// (LoadDir runs them), so qm never decides with a bundle the webhook
		// would refuse.
		b, err := policy.LoadDir(ctx, pc.Dir, opts)
		if err != nil {
			return fmt.Errorf("--policies: %w", err)
		}
		e.log.Info("policy bundle loaded", "dir", pc.Dir, "revision", b.Revision(), "packages", b.Packages())
		e.policy, e.revision = b, b.Revision
	default:
		var m *policy.Metrics
		if deps.Registerer != nil {
			var err error
			if m, err = policy.NewMetrics(deps.Registerer); err != nil {
				return fmt.Errorf("registering the policy metrics: %w", err)
			}
		}
		r, err := policy.NewReloader(ctx, pc.Dir, opts, e.log, m)
		if err != nil {
			return fmt.Errorf("--policies: %w", err)
		}
		e.policy, e.reloader = r, r
		e.revision = func() string { return r.Bundle().Revision() }
	}
	return nil
}

// buildEvaluator wires the decision. The extractor and the evidence
// collector take the region table of the catalog at start; reloaded
// catalogs are read with the same table (buildPrices), so only the placer
// changes on a reload.
func (e *Engine) buildEvaluator() error {
	cat := e.prices.Catalog()
	rules, err := workload.ReadRulesFile(e.cfg.Sources.WorkloadRules)
	if err != nil {
		return fmt.Errorf("--workload-rules: %w", err)
	}
	labels, err := e.cfg.Nodes.Labels()
	if err != nil {
		return err
	}
	x, err := workload.New(workload.Options{Jurisdictions: jurisdictions(cat), Rules: workload.WithDefaultRules(rules), Labels: labels})
	if err != nil {
		return fmt.Errorf("building the workload extractor: %w", err)
	}
	evidence := &encryption.Collector{Jurisdictions: cat.Regions()}
	if e.kube || e.cfg.Facts.ClusterState != "" {
		// Without a cluster-state file nothing is known of PVCs: the
		// evidence says "no cluster state to resolve" rather than "not
		// found", which would read as a missing claim.
		evidence.Claims = e.state
	}
	if path := e.cfg.Facts.Inventory; path != "" {
		inv, err := readInventory(path)
		if err != nil {
			return err
		}
		evidence.Datasets = inv
	}
	ev, err := admission.NewEvaluator(admission.Deps{Extractor: x, Placer: e.prices.Placer(), Policy: e.policy,
		Evidence: evidence, Provisioner: e.prov})
	if err != nil {
		return fmt.Errorf("building the evaluator: %w", err)
	}
	e.evaluator = ev
	return nil
}

func readInventory(path string) (*encryption.Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--inventory: opening %s: %w", path, err)
	}
	defer f.Close()
	inv, err := encryption.ReadInventory(f)
	if err != nil {
		return nil, fmt.Errorf("--inventory: %s: %w", path, err)
	}
	return inv, nil
}

// jurisdictions are the catalog's, each once, in region-table order: the
// only values a residency annotation may name, so that a typo ("eu-west")
// is refused rather than placing nowhere.
func jurisdictions(c *costing.Catalog) []string {
	var out []string
	for _, r := range c.Regions().All() {
		if !slices.Contains(out, r.Jurisdiction) {
			out = append(out, r.Jurisdiction)
		}
	}
	return out
}

// Run starts the informers and the reloaders and blocks until ctx ends.
// Offline (no reload intervals, no API server) it returns at once.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if e.informers != nil {
		e.informers.Start(ctx)
	}
	if e.cfg.Reload.Catalog > 0 {
		// The reloader hands each new placer to the evaluator, so that a
		// decision sees one catalog and one quota table from start to end.
		wg.Go(func() { e.prices.Run(ctx, e.cfg.Reload.Catalog, e.evaluator.SetPlacer) })
	}
	if e.reloader != nil {
		wg.Go(func() { e.reloader.Run(ctx, e.cfg.Reload.Policies) })
	}
	wg.Wait()
}

// Check looks at the catalog and quota files and the policy directory once,
// as Run does every interval, and puts what changed in service. It reports
// whether anything did; rejected versions are returned (and logged and
// counted), while the version in service stays.
func (e *Engine) Check(ctx context.Context) (bool, error) {
	changed, err := e.prices.Check()
	if changed {
		e.evaluator.SetPlacer(e.prices.Placer())
	}
	if e.reloader != nil {
		c, perr := e.reloader.Check(ctx)
		changed, err = changed || c, errors.Join(err, perr)
	}
	return changed, err
}

// Ready reports what is not ready yet (the informers' caches), or nil.
func (e *Engine) Ready() error {
	var errs []error
	for _, c := range e.checks {
		if !c.ok() {
			errs = append(errs, errors.New(c.name+" not ready"))
		}
	}
	return errors.Join(errs...)
}

// Evaluator is the wired decision.
// PolicyBundle is the policy bundle in service (the reloader's current one
// when policies hot-reload), for the auditor's rules; nil without
// policies or when the policy engine was injected.
func (e *Engine) PolicyBundle() *policy.Bundle {
	switch p := e.policy.(type) {
	case *policy.Bundle:
		return p
	case *policy.Reloader:
		return p.Bundle()
	}
	return nil
}

func (e *Engine) Evaluator() *admission.Evaluator { return e.evaluator }

// State is the cluster as the evaluator sees it, for the admission handler.
func (e *Engine) State() ClusterState { return e.state }

// Placer is the placer in service (the batch optimizer and sizing use it).
func (e *Engine) Placer() *placement.Placer { return e.prices.Placer() }

// Catalog is the catalog in service.
func (e *Engine) Catalog() *costing.Catalog { return e.prices.Catalog() }

// CatalogRevision is a short content hash of the catalog in service, the
// one the decision log records.
func (e *Engine) CatalogRevision() string { return e.prices.CatalogRevision() }

// PolicyRevision is the revision of the bundle in service; "" without one.
func (e *Engine) PolicyRevision() string { return e.revision() }

// Usage is the GPUs the --usage file says are in use (nil without one).
// Shared: clone before adding to it.
func (e *Engine) Usage() quota.GPUCounts { return e.usage }

// NamespaceLabels are the labels of obj's namespace in the cluster state,
// nil when unknown: the input every binary gives the extractor and
// policies, read one way.
func (e *Engine) NamespaceLabels(obj map[string]any) map[string]string {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	return e.state.NamespaceLabels(ns)
}
