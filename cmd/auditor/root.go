package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/go-logr/logr"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/auditrun"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// exitCode carries an exit code out of a command.
type exitCode int

// Error is never printed: the summary line already said why.
func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// run executes the auditor with args and returns the process exit code
// (auditrun.Exit*).
func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	root := newRootCommand(out, errOut)
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	var code exitCode
	switch {
	case err == nil:
		return auditrun.ExitOK
	case errors.As(err, &code):
		return int(code)
	}
	fmt.Fprintln(errOut, "auditor:", err)
	return auditrun.ExitInput
}

// logger logs JSON to stderr, at info, or debug with -v.
func logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	// controller-runtime (the cluster source and the report writer) logs
	// through its own logger, and complains with a stack trace when none
	// is set: give it the same handler.
	crlog.SetLogger(logr.FromSlogHandler(h))
	return slog.New(h)
}

// newRootCommand is the audit itself; the subcommands take the parts of a
// run apart (scan only, merge only) for sharded and offline use.
func newRootCommand(out, errOut io.Writer) *cobra.Command {
	cfg := auditrun.NewConfig()
	var verbose bool
	root := &cobra.Command{
		Use:   "auditor (--accounts FILE | --snapshot FILE) [--out DIR]",
		Short: "Audit GPU clusters and cloud accounts: compliance, waste, drift, backups and cost, priced in dollars",
		Long: `auditor scans the accounts of an accounts file (or reads a snapshot of them), checks every
resource against the audit policies and the admission policies, finds idle GPUs, orphan disks,
placement drift and checkpoints without backups, allocates GPU cost per team, and writes
report.json into --out.

Exit codes: 0 done, 1 usage or input error (no report), 2 a finding at or above --fail-on,
3 the report is written but some accounts could not be scanned.`,
		Example: `  auditor --snapshot examples/inventory/snapshot.jsonl.gz --out audit-report
  auditor --accounts accounts.yaml --checkpoint /var/lib/qm/ckpt --fail-on critical
  auditor --accounts accounts.yaml --shard 2/8 --out shard-2   # one pod of an Indexed Job
  auditor merge --out audit-report shard-*/report.json`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := auditrun.Run(cmd.Context(), cfg, auditrun.Deps{Logger: logger(errOut, verbose)})
			if err != nil {
				return err
			}
			fmt.Fprintln(out, summaryLine(o.Report, cfg.Out))
			if o.Code != auditrun.ExitOK {
				return exitCode(o.Code)
			}
			return nil
		},
	}
	cfg.AddFlags(root.Flags())
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	root.AddCommand(newSnapshotCommand(out, errOut, &verbose), newMergeCommand(out))
	return root
}

// newSnapshotCommand is auditor snapshot: a scan written as a snapshot, to
// audit later, elsewhere, or again with other policies, without calling
// the clouds twice.
func newSnapshotCommand(out, errOut io.Writer, verbose *bool) *cobra.Command {
	cfg := auditrun.NewConfig()
	var path string
	cmd := &cobra.Command{
		Use:   "snapshot --accounts FILE --out FILE",
		Short: "Scan the accounts and write the inventory as a snapshot (docs/snapshot.md), without auditing it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return errors.New("--out: the snapshot file to write is required")
			}
			f, err := os.Create(path)
			if err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			sum, err := auditrun.Snapshot(cmd.Context(), cfg, auditrun.Deps{Logger: logger(errOut, *verbose)}, f)
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("--out: %w", cerr)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%d resources from %d accounts (%d failed) in %s\n", sum.Resources, len(sum.Accounts), sum.Failed, path)
			if sum.Failed > 0 {
				return exitCode(auditrun.ExitAccountsFailed)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Accounts, "accounts", "", "accounts file: the accounts to scan (docs/auditor.md)")
	fs.StringVar(&cfg.Checkpoint, "checkpoint", "", "directory keeping finished accounts, so that a killed scan resumes")
	fs.StringVar(&cfg.Shard, "shard", "", "scan shard i of N (i/N)")
	fs.DurationVar(&cfg.GPUWindow, "gpu-window", cfg.GPUWindow, "how far back GPU utilisation is averaged")
	fs.StringVar(&cfg.AWSProfile, "aws-profile", "", "AWS shared-config profile the scan starts from")
	fs.StringVar(&cfg.AWSRegion, "aws-region", "", "AWS region for account-wide calls")
	fs.StringVar(&path, "out", "", "snapshot file to write (gzip JSON lines)")
	return cmd
}

// newMergeCommand is auditor merge: the shards' reports combined, for a
// sharded run whose shard 0 does not merge them itself (--merge-into).
func newMergeCommand(out io.Writer) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "merge --out DIR REPORT.json...",
		Short: "Combine the report.json of each shard of a sharded audit into one report",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var shards []*report.Report
			for _, p := range args {
				r, err := auditrun.ReadReport(p)
				if err != nil {
					return err
				}
				shards = append(shards, r)
			}
			m, err := report.Merge(shards)
			if err != nil {
				return err
			}
			if err := auditrun.WriteReports(dir, m); err != nil {
				return err
			}
			fmt.Fprintf(out, "merged %d shards: %d findings, %d accounts: %s\n", len(shards), len(m.Findings), len(m.Run.Accounts), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "out", "audit-report", "directory to write the merged report.json to")
	return cmd
}

// summaryLine is the one line a run prints: findings by severity, the
// waste and the spend, and where the reports are.
func summaryLine(r *report.Report, dir string) string {
	s := r.Summary
	var parts []string
	for _, sev := range policy.Severities {
		if n := s.BySeverity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	by := ""
	if len(parts) > 0 {
		by = " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%d findings%s; waste %.2f USD a month; GPU spend %.2f USD a month; reports in %s",
		s.Findings, by, s.WasteMonthly, s.SpendMonthly, dir)
}
