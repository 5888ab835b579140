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
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/certwatch"
	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
	"github.com/quartermaster-io/quartermaster/internal/engine"
)

// run wires the webhook from cfg and serves until ctx ends.
func run(ctx context.Context, cfg *Config, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.Level(-cfg.Verbosity)}))
	var err error
	// A registry of our own, not the global default: every series is
	// registered here explicitly, so a test can start two webhooks in one
	// process without duplicate-registration panics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// One failure counter for every reloaded input, certificates included,
	// so that a single alert covers them all; the engine counts its own
	// sources (catalog, quota) in it.
	reloadFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quartermaster_webhook_reload_failures_total",
		Help: "Failed reloads of a watched input (certificate, catalog, quota; policies are counted by quartermaster_policy_reloads_total), by source; the previous version stays in use.",
	}, []string{"source"})
	reg.MustRegister(reloadFailures)

	// The engine builds the decision from the same flags qm reads; the
	// webhook adds only what serving needs: TLS, the decision log, HTTP.
	deps := engine.Deps{Logger: log, Registerer: reg, ReloadFailures: reloadFailures}
	if !cfg.Standalone {
		if deps.Kube, err = engine.KubeConfig(cfg.Kubeconfig); err != nil {
			return fmt.Errorf("%w (or use --standalone)", err)
		}
	}
	eng, err := engine.New(ctx, cfg.Engine, deps)
	if err != nil {
		return err
	}
	// Informers and reloaders run for the life of ctx; /readyz reports
	// not ready until the informers' caches have synced.
	go eng.Run(ctx)

	// The decision log is the webhook's, not the engine's: qm prints its
	// decisions, and only a served decision needs a tamper-evident record.
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

	// One evaluator behind both endpoints: /validate re-checks the object
	// after every mutating webhook ran, with the same catalog and policies.
	metrics := admission.NewMetrics(reg)
	mux := http.NewServeMux()
	for _, mode := range []admission.Mode{admission.Mutate, admission.Validate} {
		h, err := admission.NewHandler(admission.HandlerOptions{Mode: mode, Evaluator: eng.Evaluator(), State: eng.State(), Log: recorder, PolicyRevision: eng.PolicyRevision,
			Metrics: metrics, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, Deadline: cfg.Deadline,
			OnDeadline: admission.DeadlineOutcome(cfg.DeadlineOutcome), CatalogRevision: eng.CatalogRevision})
		if err != nil {
			return err
		}
		mux.Handle("/"+mode.String(), h)
	}
	probes := probeMux(eng.Ready)
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
	// Metrics and probes on their own plain-HTTP ports, as kubelet and
	// Prometheus expect, so that neither needs the webhook's certificate.
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

// probeMux serves /healthz (the process answers) and /readyz (the engine's
// caches are synced: until then a decision would miss the cluster's usage).
func probeMux(ready func() error) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	m.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return m
}
