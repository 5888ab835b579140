package auditrun

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/engine"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// Config is every setting of an audit run.
type Config struct {
	// Engine is the catalog (prices), the policy bundle (audit rules and
	// the admission rules re-evaluated), the workload rules and labels:
	// the webhook's own flags.
	Engine engine.Config
	// Accounts is the accounts file to scan (docs/auditor.md); Snapshot a
	// snapshot to audit instead. Exactly one is set.
	Accounts string
	Snapshot string
	// Checkpoint is the directory a scan keeps finished accounts in, so
	// that a killed run resumes (inventory.Runner).
	Checkpoint string
	// Shard is "i/N": this run audits the accounts of shard i of N.
	Shard string
	// Out is the directory the reports are written to.
	Out string
	// FailOn makes the run exit 2 when a finding is at or above this
	// severity; empty never fails on findings.
	FailOn string
	// Pushgateway, when set, receives the run's metrics (besides
	// metrics.prom in Out).
	Pushgateway string
	// History is where runs are kept for trends, forecasts and changes
	// since the previous run (dir:///path, s3://, gs://, azblob://;
	// docs/history.md); empty keeps none.
	History string
	// OpenReports is the kubeconfig context (or in-cluster) of a cluster
	// to write that cluster's findings into as report resources;
	// OpenReportsAPI chooses openreports.io or wgpolicyk8s.io.
	OpenReports, OpenReportsAPI string
	// GPUWindow is how far back GPU utilisation is averaged.
	GPUWindow time.Duration
	// MergeInto, on shard 0 of a sharded run, is where the merged report
	// goes once every shard's report.json is in the directory beside its
	// own (--out's parent, shard-k for shard k); MergeWait bounds the
	// wait. An Indexed Job needs no other step to merge.
	MergeInto string
	MergeWait time.Duration
	// IndexedJob says that every shard runs with these same flags (the one
	// pod template of a Kubernetes Indexed Job, which cannot give index 0
	// a flag of its own): shards other than 0 then accept --merge-into and
	// leave the merge to shard 0. Without it --merge-into on another shard
	// is an error, since it would be a mistake to expect that shard to merge.
	// Each shard's exit 3 then counts only its own failed accounts, since
	// the Job retries the index that failed.
	IndexedJob bool
	// AWSProfile and AWSRegion select the AWS credentials the scan starts
	// from (the SDK's default chain otherwise).
	AWSProfile, AWSRegion string
}

// NewConfig returns the defaults.
func NewConfig() Config {
	return Config{Engine: engine.NewConfig(), Out: "audit-report", GPUWindow: 24 * time.Hour, OpenReportsAPI: "openreports", MergeWait: time.Hour}
}

// AddFlags binds the flags of an audit run.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	c.Engine.Sources.AddFlags(fs)
	c.Engine.Nodes.AddFlags(fs)
	c.Engine.Policies.AddFlags(fs)
	fs.StringVar(&c.Accounts, "accounts", "", "accounts file: the AWS accounts, Azure subscriptions, GCP projects and clusters to scan (docs/auditor.md)")
	fs.StringVar(&c.Snapshot, "snapshot", "", "audit this inventory snapshot instead of scanning (auditor snapshot --out writes one; docs/snapshot.md)")
	fs.StringVar(&c.Checkpoint, "checkpoint", "", "directory keeping finished accounts during a scan, so that a killed run resumes without scanning them again")
	fs.StringVar(&c.Shard, "shard", "", "audit shard i of N (i/N): the accounts whose hash falls in it; auditor merge combines the shards' reports")
	fs.StringVar(&c.Out, "out", c.Out, "directory to write report.json (and the other reports) to")
	fs.StringVar(&c.FailOn, "fail-on", "", "exit 2 when a finding is at or above this severity: "+strings.Join(policy.Severities, ", "))
	fs.StringVar(&c.Pushgateway, "pushgateway", "", "Prometheus Pushgateway URL to push the run's metrics to (job quartermaster_auditor); they are also in metrics.prom in --out")
	fs.StringVar(&c.History, "history", "", "where runs are kept for the trend, the forecast and the changes since the previous run: dir:///path, s3://bucket/prefix, gs://bucket/prefix or azblob://account/container/prefix (docs/history.md)")
	fs.StringVar(&c.OpenReports, "openreports", "", "write this cluster's findings into it as report resources: its kubeconfig context, or in-cluster")
	fs.StringVar(&c.OpenReportsAPI, "openreports-api", c.OpenReportsAPI, "report API: openreports (openreports.io/v1alpha1) or wgpolicyk8s (wgpolicyk8s.io/v1alpha2, for older consumers)")
	fs.DurationVar(&c.GPUWindow, "gpu-window", c.GPUWindow, "how far back GPU utilisation is averaged from each cluster's Prometheus")
	fs.StringVar(&c.MergeInto, "merge-into", "", "on shard 0: when every shard's report is beside this one's --out (DIR/shard-k), merge them into this directory")
	fs.DurationVar(&c.MergeWait, "merge-wait", c.MergeWait, "how long shard 0 waits for the other shards' reports before --merge-into gives up")
	fs.BoolVar(&c.IndexedJob, "indexed-job", false, "every shard runs with the same flags (a Kubernetes Indexed Job): shards other than 0 accept --merge-into and leave the merge to shard 0, and each exits 3 for its own failed accounts only")
	fs.StringVar(&c.AWSProfile, "aws-profile", "", "AWS shared-config profile the scan starts from (default: the SDK's default chain)")
	fs.StringVar(&c.AWSRegion, "aws-region", "", "AWS region for account-wide calls (default: the profile's, else us-east-1)")
}

// Validate reports every problem with the configuration, in flag order.
func (c *Config) Validate(scanning bool) error {
	var errs []error
	if err := c.Engine.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch {
	case scanning && c.Snapshot != "":
		errs = append(errs, errors.New("--snapshot: a snapshot is written from a scan, not from another snapshot"))
	case scanning && c.Accounts == "":
		errs = append(errs, errors.New("--accounts: the accounts file to scan is required"))
	case !scanning && (c.Accounts == "") == (c.Snapshot == ""):
		errs = append(errs, errors.New("--accounts or --snapshot: give exactly one: scan the accounts, or audit a snapshot"))
	}
	if _, err := inventory.ParseShard(c.Shard); err != nil {
		errs = append(errs, fmt.Errorf("--shard: %w", err))
	}
	if c.FailOn != "" && !slices.Contains(policy.Severities, c.FailOn) {
		errs = append(errs, fmt.Errorf("--fail-on %q: want one of %s", c.FailOn, strings.Join(policy.Severities, ", ")))
	}
	if c.OpenReportsAPI != "openreports" && c.OpenReportsAPI != "wgpolicyk8s" {
		errs = append(errs, fmt.Errorf("--openreports-api %q: want openreports or wgpolicyk8s", c.OpenReportsAPI))
	}
	if c.GPUWindow < time.Minute {
		errs = append(errs, fmt.Errorf("--gpu-window %v: want at least 1m", c.GPUWindow))
	}
	if c.MergeInto != "" {
		s, err := inventory.ParseShard(c.Shard)
		switch {
		case err != nil: // reported above
		case s.Count < 2:
			errs = append(errs, fmt.Errorf("--merge-into: only a sharded run merges (--shard i/N with N > 1), not %q", c.Shard))
		case s.Index != 0 && !c.IndexedJob:
			errs = append(errs, fmt.Errorf("--merge-into: only shard 0 of a sharded run merges (--shard 0/N), not %q; with --indexed-job the other shards accept it and leave the merge to shard 0", c.Shard))
		}
	}
	if c.Out == "" && !scanning {
		errs = append(errs, errors.New("--out: want a directory for the reports"))
	}
	return errors.Join(errs...)
}
