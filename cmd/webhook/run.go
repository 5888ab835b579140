package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/certwatch"
	"github.com/quartermaster-io/quartermaster/internal/clusterstate"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/reload"
	"github.com/quartermaster-io/quartermaster/internal/workload"
	"github.com/quartermaster-io/quartermaster/policies"
)

// readiness is the set of conditions /readyz waits for. The policy engine
// adds its own check when it is wired in (bundle compiled).
type readiness struct {
	checks []func() error
}

func (r *readiness) add(name string, ok func() bool) {
	r.checks = append(r.checks, func() error {
		if !ok() {
			return errors.New(name + " not ready")
		}
		return nil
	})
}

func (r *readiness) err() error {
	var errs []error
	for _, c := range r.checks {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// run wires the webhook from cfg and serves until ctx ends.
func run(ctx context.Context, cfg *Config, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.Level(-cfg.Verbosity)}))
	if _, set := os.LookupEnv("GOGC"); !set {
		// The live heap is small (catalog, caches, buffers) and garbage is
		// per request, so collecting at 4× the live heap instead of 2×
		// trades a few MiB for a large share of GC CPU, which is a seventh
		// of a Gatekeeper webhook's, and for the latency tail of policy
		// evaluation (policy.GCPercent). GOGC (and GOMEMLIMIT) still override.
		debug.SetGCPercent(policy.GCPercent)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reloadFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quartermaster_webhook_reload_failures_total",
		Help: "Failed reloads of a watched input (certificate, catalog, quota; policies are counted by quartermaster_policy_reloads_total), by source; the previous version stays in use.",
	}, []string{"source"})
	reg.MustRegister(reloadFailures)

	ready := &readiness{}
	prices, err := buildPlacement(cfg, reg, reloadFailures, log)
	if err != nil {
		return err
	}
	catalog := prices.Catalog()
	log.Info("catalog loaded", "offers", catalog.Len(), "source", catalog.Meta().Source, "asOf", catalog.Meta().AsOf,
		"revision", prices.CatalogRevision(), "quotaRevision", prices.QuotaRevision())
	state, prov, err := buildState(ctx, cfg, prices.ModelOf, ready, log)
	if err != nil {
		return err
	}
	engine, revision, err := buildPolicy(ctx, cfg, catalog, reg, log)
	if err != nil {
		return err
	}
	ev, err := buildEvaluator(cfg, catalog, prices.Placer(), state, prov, engine)
	if err != nil {
		return err
	}
	go prices.Run(ctx, cfg.CatalogReloadInterval, ev.SetPlacer)

	var recorder admission.DecisionRecorder
	if cfg.DecisionLog != "" {
		dl, err := decisionlog.Open(decisionlog.Options{Path: cfg.DecisionLog, MaxBytes: cfg.DecisionLogMaxBytes,
			MaxFiles: cfg.DecisionLogMaxFiles, Registerer: reg, Logger: log})
		if err != nil {
			return err
		}
		defer func() {
			if err := dl.Close(); err != nil {
				log.Error("closing decision log", "err", err)
			}
		}()
		recorder = dl
	} else {
		log.Warn("no --decision-log: decisions are not recorded")
	}

	metrics := admission.NewMetrics(reg)
	mux := http.NewServeMux()
	for _, mode := range []admission.Mode{admission.Mutate, admission.Validate} {
		h, err := admission.NewHandler(admission.HandlerOptions{Mode: mode, Evaluator: ev, State: state, Log: recorder, PolicyRevision: revision,
			Metrics: metrics, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, Deadline: cfg.Deadline,
			OnDeadline: admission.DeadlineOutcome(cfg.DeadlineOutcome), CatalogRevision: prices.CatalogRevision})
		if err != nil {
			return err
		}
		mux.Handle("/"+mode.String(), h)
	}
	probes := probeMux(ready)
	mux.Handle("/healthz", probes)
	mux.Handle("/readyz", probes)

	certs, err := certwatch.New(cfg.CertDir, cfg.CertReloadInterval, func(err error) {
		if err != nil {
			reloadFailures.WithLabelValues("certificate").Inc()
			log.Error("reloading certificate; keeping the previous one", "err", err)
			return
		}
		log.Info("certificate reloaded", "dir", cfg.CertDir)
	})
	if err != nil {
		return err
	}
	go certs.Start(ctx)

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(cfg.EnableHTTP2)
	servers := []*http.Server{{
		Addr:      net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port)),
		Handler:   mux,
		Protocols: protocols,
		// TLS 1.2 is the floor the API server and every supported client
		// speak; 1.3 is negotiated when both sides have it.
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	if cfg.MetricsBindAddress != "0" {
		m := http.NewServeMux()
		m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		if cfg.Profiling {
			m.HandleFunc("/debug/pprof/", pprof.Index)
			m.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		servers = append(servers, &http.Server{Addr: cfg.MetricsBindAddress, Handler: m, ReadHeaderTimeout: 5 * time.Second})
	}
	if cfg.HealthProbeBindAddress != "0" {
		servers = append(servers, &http.Server{Addr: cfg.HealthProbeBindAddress, Handler: probes, ReadHeaderTimeout: 5 * time.Second})
	}
	return serve(ctx, servers, log)
}

// serve listens on every server first (so that a taken port fails the
// start), then serves until ctx ends and shuts down gracefully.
func serve(ctx context.Context, servers []*http.Server, log *slog.Logger) error {
	listeners := make([]net.Listener, len(servers))
	for i, s := range servers {
		l, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range listeners[:i] {
				l.Close()
			}
			return fmt.Errorf("listening on %s: %w", s.Addr, err)
		}
		listeners[i] = l
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		log.Info("serving", "addr", listeners[i].Addr().String(), "tls", s.TLSConfig != nil)
		go func() {
			var err error
			if s.TLSConfig != nil {
				err = s.ServeTLS(listeners[i], "", "")
			} else {
				err = s.Serve(listeners[i])
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		if serr := s.Shutdown(shutdown); serr != nil && err == nil {
			err = serr
		}
	}
	log.Info("stopped")
	return err
}

func probeMux(ready *readiness) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	m.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready.err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return m
}

// clusterView is what the evaluator and the handler read about the cluster:
// the snapshot (standalone) or the informers.
type clusterView interface {
	admission.ClusterState
	encryption.ClaimSource
}

// buildPolicy loads the policy bundle: a directory, hot-reloaded, or the
// embedded library. It returns the engine and its revision for the decision
// log.
func buildPolicy(ctx context.Context, cfg *Config, catalog *costing.Catalog, reg prometheus.Registerer, log *slog.Logger) (admission.PolicyEngine, func() string, error) {
	opts := policy.Options{Regions: catalog.Regions()}
	if cfg.Policies == "" {
		b, err := policy.Load(ctx, policies.FS(), opts)
		if err != nil {
			return nil, nil, fmt.Errorf("loading the embedded policy library: %w", err)
		}
		log.Info("policy library loaded", "source", "embedded", "revision", b.Revision(), "packages", b.Packages())
		return b, b.Revision, nil
	}
	m, err := policy.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	r, err := policy.NewReloader(ctx, cfg.Policies, opts, log, m)
	if err != nil {
		return nil, nil, err
	}
	go r.Run(ctx, cfg.PolicyReloadInterval)
	return r, func() string { return r.Bundle().Revision() }, nil
}

// buildEvaluator wires the decision. The extractor and the evidence
// collector take the region table of the catalog at start; reloaded
// catalogs are read with the same table (buildPlacement), so only the
// placer changes on a reload.
func buildEvaluator(cfg *Config, catalog *costing.Catalog, placer *placement.Placer, state clusterView, prov placement.Provisioner, engine admission.PolicyEngine) (*admission.Evaluator, error) {
	var jurisdictions []string
	for _, r := range catalog.Regions().All() {
		jurisdictions = append(jurisdictions, r.Jurisdiction)
	}
	rules, err := workload.ReadRulesFile(cfg.WorkloadRules)
	if err != nil {
		return nil, err
	}
	labels, err := cfg.Labels()
	if err != nil {
		return nil, err
	}
	x, err := workload.New(workload.Options{Jurisdictions: jurisdictions, Rules: workload.WithDefaultRules(rules), Labels: labels})
	if err != nil {
		return nil, err
	}
	evidence := &encryption.Collector{Claims: state, Jurisdictions: catalog.Regions()}
	if cfg.Inventory != "" {
		f, err := os.Open(cfg.Inventory)
		if err != nil {
			return nil, fmt.Errorf("opening inventory: %w", err)
		}
		inv, err := encryption.ReadInventory(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Inventory, err)
		}
		evidence.Datasets = inv
	}
	return admission.NewEvaluator(admission.Deps{Extractor: x, Placer: placer, Policy: engine, Evidence: evidence, Provisioner: prov})
}

// buildPlacement loads the catalog (--catalog, else the embedded one) and
// the quotas, which are then checked for changes every
// --catalog-reload-interval. Every catalog is read with the embedded region
// table, as at start.
func buildPlacement(cfg *Config, reg prometheus.Registerer, failures *prometheus.CounterVec, log *slog.Logger) (*reload.Placement, error) {
	m, err := reload.NewMetrics(reg, failures, nil)
	if err != nil {
		return nil, err
	}
	o := reload.Options{CatalogPath: cfg.Catalog, QuotaPath: cfg.Quota, Metrics: m, Logger: log}
	if cfg.Catalog == "" {
		if o.Catalog, err = costing.DefaultCatalog(); err != nil {
			return nil, err
		}
	} else if o.ParseCatalog, err = reload.CatalogParser(cfg.CatalogFormat, cfg.CatalogCloud, cfg.Catalog, costing.DefaultRegions()); err != nil {
		return nil, err
	}
	return reload.New(o)
}

// buildState returns the snapshot (standalone) or starts informers, and
// the provisionable filter over the same state (nil when it is off).
func buildState(ctx context.Context, cfg *Config, modelOf func(cloud, instanceType string) string, ready *readiness, log *slog.Logger) (clusterView, placement.Provisioner, error) {
	labels, err := cfg.Labels()
	if err != nil {
		return nil, nil, err
	}
	mode, err := clusterstate.ParseProvisionableMode(cfg.ProvisionableFilter)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Standalone {
		s, err := clusterstate.ReadSnapshotFiles(cfg.ClusterState, cfg.Usage)
		if err != nil {
			return nil, nil, err
		}
		prov, holds := s.Provisioner(labels)
		if !mode.Enabled(false, holds) {
			prov = nil
		}
		log.Info("standalone: cluster state from files", "clusterState", cfg.ClusterState, "usage", cfg.Usage,
			"labelProfile", labels.Profile, "provisionableFilter", prov != nil)
		return s, prov, nil
	}
	restCfg, err := kubeConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building Kubernetes client: %w", err)
	}
	opts := clusterstate.InformerOptions{Labels: labels, Provisionable: mode.Enabled(true, false)}
	if opts.Provisionable {
		if opts.Dynamic, err = dynamic.NewForConfig(restCfg); err != nil {
			return nil, nil, fmt.Errorf("building Kubernetes dynamic client: %w", err)
		}
	}
	opts.ModelOf = modelOf
	inf, err := clusterstate.NewInformers(client, opts)
	if err != nil {
		return nil, nil, err
	}
	log.Info("cluster state from informers", "labelProfile", labels.Profile, "provisionableFilter", opts.Provisionable)
	inf.Start(ctx)
	var logged atomic.Bool
	ready.add("cluster caches", func() bool {
		ok := inf.HasSynced()
		if ok && !logged.Swap(true) {
			log.Info("cluster caches synced", "karpenterNodePools", inf.NodePoolsWatched())
		}
		return ok
	})
	return inf, inf.Provisioner(), nil
}

func kubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		if c, err := rest.InClusterConfig(); err == nil {
			return c, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig (or use --standalone): %w", err)
	}
	return c, nil
}
