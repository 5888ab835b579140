package report

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// Unassigned names the spend of pods no team label claims, in the metrics'
// team label and in the HTML (an empty label value would read as "no
// label" in PromQL).
const Unassigned = "unassigned"

// Metric names: docs/auditor.md lists them with their labels.
const (
	metricFindings    = "quartermaster_audit_findings"
	metricWaste       = "quartermaster_audit_waste_monthly_usd"
	metricSpend       = "quartermaster_audit_spend_monthly_usd"
	metricIdle        = "quartermaster_audit_idle_monthly_usd"
	metricDuration    = "quartermaster_audit_run_duration_seconds"
	metricAccounts    = "quartermaster_audit_accounts"
	metricResources   = "quartermaster_audit_resources"
	metricErrors      = "quartermaster_audit_run_errors"
	metricLastRunTime = "quartermaster_audit_last_run_timestamp_seconds"
	metricAnomaly     = "quartermaster_audit_spend_anomaly_zscore"
	metricForecast    = "quartermaster_audit_spend_forecast_month_end_usd"
)

// categories are the finding categories every run reports, found or not:
// an alert on a series that is absent until the first finding never
// resolves cleanly.
var categories = []string{audit.CategoryCompliance, audit.CategoryWaste, audit.CategoryDrift, audit.CategoryBackup, audit.CategoryCost}

// Registry returns a registry holding r's metrics, all gauges (a run's
// result is a level, not a count of events):
//
//	quartermaster_audit_findings{category,severity}     every category × severity, zeros included
//	quartermaster_audit_waste_monthly_usd{check}        waste by check (finding code)
//	quartermaster_audit_spend_monthly_usd{team}         GPU spend by team ("unassigned" without one)
//	quartermaster_audit_idle_monthly_usd                the share of the spend on idle GPUs
//	quartermaster_audit_run_duration_seconds
//	quartermaster_audit_accounts{status}                scanned, resumed, failed (zeros included)
//	quartermaster_audit_resources{kind}                 resources read, by kind
//	quartermaster_audit_run_errors                      what could not be read or judged
//	quartermaster_audit_last_run_timestamp_seconds      the run's end, for "has it run lately" alerts
//	quartermaster_audit_spend_anomaly_zscore{team}      teams whose spend jumped (with --history; absent otherwise)
//	quartermaster_audit_spend_forecast_month_end_usd    the month's spend forecast (with --history)
func Registry(r *Report) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	findings := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricFindings,
		Help: "Findings of the last audit run, by category and severity."}, []string{"category", "severity"})
	for _, c := range categories {
		for _, s := range policy.Severities {
			findings.WithLabelValues(c, s)
		}
	}
	for _, f := range r.Findings {
		findings.WithLabelValues(f.Category, f.Severity).Inc()
	}
	waste := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricWaste,
		Help: "Monthly cost in USD of the last run's waste findings, by check."}, []string{"check"})
	for check, v := range r.Summary.WasteByCheck {
		waste.WithLabelValues(check).Set(v)
	}
	spend := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricSpend,
		Help: "Monthly run rate in USD of the GPUs allocated to each team's pods."}, []string{"team"})
	for _, l := range r.Costs.ByTeam {
		spend.WithLabelValues(teamName(l.Key)).Add(l.Monthly)
	}
	accounts := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricAccounts,
		Help: "Accounts of the last audit run, by outcome; a failed account's findings are missing."}, []string{"status"})
	for _, s := range []string{inventory.StatusScanned, inventory.StatusResumed, inventory.StatusFailed} {
		accounts.WithLabelValues(s)
	}
	for _, a := range r.Run.Accounts {
		accounts.WithLabelValues(a.Status).Inc()
	}
	resources := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricResources,
		Help: "Resources the last audit run read, by kind."}, []string{"kind"})
	for k, n := range r.Run.Resources {
		resources.WithLabelValues(string(k)).Set(float64(n))
	}
	anomaly := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricAnomaly,
		Help: "z-score of the last change of a team's GPU spend against its own history, for the teams the run flagged (--history)."}, []string{"team"})
	collectors := []prometheus.Collector{anomaly}
	if t := r.Trend; t != nil {
		for _, a := range t.Anomalies {
			anomaly.WithLabelValues(teamName(a.Team)).Set(a.ZScore)
		}
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricForecast,
			Help: "The month's GPU spend forecast to its last day, USD (--history)."}, func() float64 { return t.ForecastMonthEnd }))
	}
	gauge := func(name, help string, v float64) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		return g
	}
	var last float64
	if !r.Run.End.IsZero() {
		last = float64(r.Run.End.UnixMilli()) / 1000
	}
	for _, c := range append(collectors, findings, waste, spend, accounts, resources,
		gauge(metricIdle, "Monthly run rate in USD of the GPUs allocated to pods that left them idle.", r.Costs.IdleMonthly),
		gauge(metricDuration, "Wall time of the last audit run.", r.Run.End.Sub(r.Run.Start).Seconds()),
		gauge(metricErrors, "Resources the last audit run could not read or judge (reported in report.json).", float64(len(r.Run.Errors))),
		gauge(metricLastRunTime, "When the last audit run ended, in seconds since the epoch.", last),
	) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the run's metrics: %w", err)
		}
	}
	return reg, nil
}

func teamName(key string) string {
	if key == "" {
		return Unassigned
	}
	return key
}

// WriteMetrics writes r's metrics (see Registry) in the Prometheus text
// exposition format. For node-exporter's textfile collector, write them
// with WriteMetricsFile: the collector may read a file while it is being
// written.
func WriteMetrics(w io.Writer, r *Report) error {
	reg, err := Registry(r)
	if err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("gathering the run's metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("writing the run's metrics: %w", err)
		}
	}
	return nil
}

// WriteMetricsFile writes r's metrics to path (a *.prom file in the
// textfile collector's directory) through a temporary file renamed into
// place, so the collector never reads half a file.
func WriteMetricsFile(path string, r *Report) error {
	reg, err := Registry(r)
	if err != nil {
		return err
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("writing the run's metrics to %s: %w", path, err)
	}
	return nil
}

// PushMetrics replaces the metrics of job on the Pushgateway at url with
// r's (an HTTP PUT: a check that found nothing this time leaves no stale
// series behind). A shard of a sharded run ("i/N") pushes to its own
// group, labelled shard="i", so that shards do not overwrite each other.
func PushMetrics(ctx context.Context, url, job string, r *Report) error {
	reg, err := Registry(r)
	if err != nil {
		return err
	}
	p := push.New(url, job).Gatherer(reg)
	if i, n, ok := strings.Cut(r.Run.Shard, "/"); ok && isNumber(i) && isNumber(n) {
		p = p.Grouping("shard", i)
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("pushing the run's metrics to %s: %w", url, err)
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
