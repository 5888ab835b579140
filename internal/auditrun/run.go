package auditrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/engine"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// Exit codes of the auditor (docs/auditor.md).
const (
	ExitOK             = 0
	ExitInput          = 1 // usage, configuration or input error: no report
	ExitFindings       = 2 // --fail-on: a finding at or above the severity
	ExitAccountsFailed = 3 // the report is written, but some accounts could not be scanned
)

// Deps are what a run takes from its caller.
type Deps struct {
	Logger *slog.Logger
	// Scanners, when set, replace the scanners built from the
	// configuration (tests, and callers with scanners of their own).
	Scanners map[inventory.Cloud]inventory.Scanner
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Outcome is a run's report and the exit code it calls for.
type Outcome struct {
	Report *report.Report
	Code   int
}

// Run audits: the inventory (a snapshot, or a scan of the accounts),
// the shard's part of it, the checks, and the reports in cfg.Out.
func Run(ctx context.Context, cfg Config, deps Deps) (*Outcome, error) {
	if err := cfg.Validate(false); err != nil {
		return nil, err
	}
	log, now := deps.defaults()
	start := now()
	shard, _ := inventory.ParseShard(cfg.Shard) // validated
	eng, err := engine.New(ctx, cfg.Engine, engine.Deps{Logger: log})
	if err != nil {
		return nil, err
	}
	a := &audit.Auditor{Catalog: eng.Catalog(), Admission: audit.EvaluatorJudge{Evaluator: eng.Evaluator()},
		Replanner: batchReplanner{eng: eng}, Now: now}
	if b := eng.PolicyBundle(); b != nil && b.HasAudit() {
		a.Rules = b
	}
	rep := &report.Report{Version: report.Version, Run: report.Run{ID: runID(start), Start: start.UTC(),
		PolicyRevision: eng.PolicyRevision(), CatalogRevision: eng.CatalogRevision(), CatalogAsOf: eng.Catalog().Meta().AsOf}}
	if shard.Count > 1 {
		rep.Run.Shard = shard.String()
	}
	var res *audit.Result
	if cfg.Snapshot != "" {
		rep.Run.Sources = []string{"snapshot " + cfg.Snapshot}
		res, err = auditSnapshot(ctx, a, cfg.Snapshot, shard)
	} else {
		rep.Run.Sources = []string{"accounts " + cfg.Accounts}
		res, err = auditScan(ctx, a, cfg, deps, shard, rep)
	}
	if err != nil {
		return nil, err
	}
	rep.Findings, rep.Costs, rep.Summary = res.Findings, res.Costs, res.Summary
	rep.Run.Resources, rep.Run.Errors = res.Resources, append(rep.Run.Errors, res.Errors...)
	rep.Run.End = now().UTC()
	if err := WriteReports(cfg.Out, rep); err != nil {
		return nil, err
	}
	// What follows is for the whole run: a run without shards, or shard 0
	// once it has merged the others. Another shard's report is only a part.
	own := rep
	whole, dir := shard.Count == 1, cfg.Out
	switch {
	case cfg.MergeInto != "" && shard.Index != 0: // --indexed-job: shard 0 merges
		log.Info("shard 0 merges the shards' reports", "shard", shard.String(), "mergeInto", cfg.MergeInto)
	case cfg.MergeInto != "":
		merged, err := mergeShards(ctx, cfg.Out, shard, rep, cfg.MergeInto, cfg.MergeWait)
		if err != nil {
			return nil, err
		}
		log.Info("shards merged", "shards", shard.Count, "findings", len(merged.Findings), "out", cfg.MergeInto)
		rep, whole, dir = merged, true, cfg.MergeInto
	}
	if whole && cfg.History != "" {
		if err := withHistory(ctx, cfg.History, rep, log); err != nil {
			return nil, err
		}
		if err := WriteReports(dir, rep); err != nil { // with the trend and the changes
			return nil, err
		}
	}
	if whole && cfg.OpenReports != "" {
		if err := writeOpenReports(ctx, cfg, rep, log); err != nil {
			return nil, err
		}
	}
	if whole && cfg.Pushgateway != "" {
		if err := report.PushMetrics(ctx, cfg.Pushgateway, "quartermaster_auditor", rep); err != nil {
			return nil, fmt.Errorf("--pushgateway: %w", err)
		}
	}
	out := &Outcome{Report: rep, Code: ExitOK}
	accounts := rep.Run.Accounts
	if cfg.IndexedJob {
		// Each index answers for its own accounts: Kubernetes retries the
		// index whose accounts failed, not shard 0 for another's.
		accounts = own.Run.Accounts
	}
	for _, acc := range accounts {
		if acc.Status == inventory.StatusFailed {
			out.Code = ExitAccountsFailed
		}
	}
	if fails, _ := report.FailsOn(rep, cfg.FailOn); cfg.FailOn != "" && fails {
		out.Code = ExitFindings
	}
	log.Info("audit done", "findings", rep.Summary.Findings, "wasteMonthly", rep.Summary.WasteMonthly,
		"spendMonthly", rep.Summary.SpendMonthly, "out", dir, "exit", out.Code)
	return out, nil
}

func (d Deps) defaults() (*slog.Logger, func() time.Time) {
	log, now := d.Logger, d.Now
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return log, now
}

// runID names a run: its start time, sortable, and a random suffix so
// that shards started in the same second differ.
func runID(start time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// auditSnapshot audits the shard's accounts of a snapshot file.
func auditSnapshot(ctx context.Context, a *audit.Auditor, path string, shard inventory.Shard) (*audit.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--snapshot: %w", err)
	}
	defer f.Close()
	sr, err := inventory.NewSnapshotReader(f)
	if err != nil {
		return nil, fmt.Errorf("--snapshot %s: %w", path, err)
	}
	return a.Run(ctx, func() (*inventory.Resource, error) {
		for {
			r, err := sr.Next()
			if err != nil || shard.Owns(r.Cloud, r.Account) {
				return r, err
			}
		}
	})
}

// auditScan scans the shard's accounts and audits what they hold. The
// scan and the checks run concurrently: the runner replays each finished
// account into a pipe the auditor reads, so nothing waits for the whole
// inventory in memory.
func auditScan(ctx context.Context, a *audit.Auditor, cfg Config, deps Deps, shard inventory.Shard, rep *report.Report) (*audit.Result, error) {
	accounts, runner, err := prepareScan(ctx, cfg, deps)
	if err != nil {
		return nil, err
	}
	accounts = shard.Select(accounts)
	ch := make(chan *inventory.Resource, 256)
	scanErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ch)
		sum, err := runner.Run(ctx, accounts, func(r *inventory.Resource) error {
			select {
			case ch <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if sum != nil {
			rep.Run.Accounts = sum.Accounts
		}
		scanErr <- err
	}()
	res, err := a.Run(ctx, func() (*inventory.Resource, error) {
		r, ok := <-ch
		if !ok {
			return nil, io.EOF
		}
		return r, nil
	})
	if err != nil {
		cancel()
		for range ch { // let the runner finish before returning
		}
		return nil, errors.Join(err, <-scanErr)
	}
	if err := <-scanErr; err != nil {
		return nil, err
	}
	return res, nil
}

// Snapshot scans the accounts and writes the inventory to w (auditor
// snapshot --out FILE). It returns the run summary: failed accounts are
// in it, and absent from the snapshot.
func Snapshot(ctx context.Context, cfg Config, deps Deps, w io.Writer) (*inventory.Summary, error) {
	if err := cfg.Validate(true); err != nil {
		return nil, err
	}
	_, now := deps.defaults()
	shard, _ := inventory.ParseShard(cfg.Shard)
	accounts, runner, err := prepareScan(ctx, cfg, deps)
	if err != nil {
		return nil, err
	}
	sw, err := inventory.NewSnapshotWriter(w, now())
	if err != nil {
		return nil, err
	}
	sum, err := runner.Run(ctx, shard.Select(accounts), sw.Write)
	if err != nil {
		return sum, err
	}
	return sum, sw.Close()
}

// WriteReports puts the reports in dir: report.json (the machine
// contract), index.html (for people), report.sarif (for code-scanning
// tools) and metrics.prom (for a node exporter's textfile collector), each
// written to a temporary file and renamed, so that a reader never sees half
// a report. report.json goes last: its presence says the run is whole (a
// sharded run's merge waits for it).
func WriteReports(dir string, rep *report.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer, *report.Report) error
	}{{"index.html", report.WriteHTML}, {"report.sarif", report.WriteSARIF}, {"report.json", report.WriteJSON}} {
		if err := writeFile(filepath.Join(dir, f.name), func(w io.Writer) error { return f.write(w, rep) }); err != nil {
			return err
		}
		if f.name == "report.sarif" {
			if err := report.WriteMetricsFile(filepath.Join(dir, "metrics.prom"), rep); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// ReadReport reads a report.json.
func ReadReport(path string) (*report.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading report: %w", err)
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("reading report %s: %w", path, err)
	}
	return r, nil
}
