package auditrun

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/history"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/kube"
	"github.com/quartermaster-io/quartermaster/internal/report"
	"github.com/quartermaster-io/quartermaster/internal/report/openreports"
)

// withHistory compares a whole run (not one shard) with the stored ones:
// the changes since the previous run and the configuration drift they
// show, the spend trend, forecast and anomalies; then stores it and prunes
// by the default retention. A stored run that cannot be read is reported
// in the run's errors, never silently skipped.
func withHistory(ctx context.Context, url string, rep *report.Report, log *slog.Logger) error {
	store, err := history.Open(ctx, url, history.Options{})
	if err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	earlier, err := history.Recent(ctx, store, history.DefaultTrendRuns)
	if err != nil {
		if !history.IsCorrupt(err) {
			return fmt.Errorf("--history: %w", err)
		}
		rep.Run.Errors = append(rep.Run.Errors, err.Error())
	}
	if len(earlier) > 0 {
		rep.Changes = history.Compare(earlier[0], rep)
		rep.Findings = append(rep.Findings, history.Changes(earlier[0], rep)...)
		audit.SortFindings(rep.Findings)
		rep.Summary = audit.Summarise(rep.Findings, rep.Costs)
	}
	rep.Trend = history.BuildTrend(rep, earlier, history.TrendOptions{})
	if err := store.Put(ctx, rep); err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	if err := store.Prune(ctx, history.DefaultRetention); err != nil {
		return fmt.Errorf("--history: pruning: %w", err)
	}
	log.Info("run stored", "history", url, "earlierRuns", len(earlier))
	return nil
}

// writeOpenReports writes the findings of one cluster into it as report
// resources (docs/inventory-kube.md), bounded per namespace.
func writeOpenReports(ctx context.Context, cfg Config, rep *report.Report, log *slog.Logger) error {
	acct := inventory.Account{Cloud: inventory.CloudKube, ID: cfg.OpenReports}
	c, err := kube.ClientFor(acct)
	if err != nil {
		return fmt.Errorf("--openreports: %w", err)
	}
	api := openreports.OpenReports
	if cfg.OpenReportsAPI == "wgpolicyk8s" {
		api = openreports.PolicyReport
	}
	w, err := openreports.NewWriter(openreports.Config{Client: c, API: api, Account: cfg.OpenReports, Log: log,
		FullReport: cfg.Out + "/report.json"})
	if err != nil {
		return fmt.Errorf("--openreports: %w", err)
	}
	out, err := w.Write(ctx, openreports.Run{ID: rep.Run.ID, Time: rep.Run.Start}, rep.Findings)
	if err != nil {
		return fmt.Errorf("--openreports: %w", err)
	}
	log.Info("reports written", "cluster", cfg.OpenReports, "outcome", fmt.Sprintf("%+v", out))
	return nil
}
