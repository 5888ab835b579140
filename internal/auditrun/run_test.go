package auditrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

const exampleSnapshot = "../../examples/inventory/snapshot.jsonl"

// outDirs remembers where each test run wrote its reports.
var outDirs = map[*report.Report]string{}

var clock = func() time.Time { return time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC) }

func snapshotRun(t *testing.T, shard, failOn string) *Outcome {
	t.Helper()
	cfg := NewConfig()
	cfg.Snapshot, cfg.Out, cfg.Shard, cfg.FailOn = exampleSnapshot, t.TempDir(), shard, failOn
	o, err := Run(context.Background(), cfg, Deps{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	outDirs[o.Report] = cfg.Out
	return o
}

// The example inventory (make demo) audits to exit 0 with its waste priced,
// its teams' costs and every report file written.
func TestExampleSnapshot(t *testing.T) {
	o := snapshotRun(t, "", "")
	r := o.Report
	if o.Code != ExitOK || r.Run.Sources[0] != "snapshot "+exampleSnapshot || r.Run.Resources[inventory.KindGPUUsage] != 12 {
		t.Fatalf("code %d, run %+v", o.Code, r.Run)
	}
	// Which findings, check by check: TestExamplePrecisionRecall.
	if r.Summary.WasteMonthly < 6000 || r.Costs.ByTeam[0].Key != "research" {
		t.Errorf("waste %.2f, teams %+v", r.Summary.WasteMonthly, r.Costs.ByTeam)
	}
	for _, f := range []string{"index.html", "report.sarif", "metrics.prom"} {
		if fi, err := os.Stat(filepath.Join(outDirs[o.Report], f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	back, err := ReadReport(filepath.Join(outDirs[o.Report], "report.json"))
	if err != nil || len(back.Findings) != len(r.Findings) {
		t.Errorf("report.json read back: %v", err)
	}
}

// TestShardsMergeToTheWhole: the example audited in 3 shards and merged
// gives the same findings, costs and resource counts as one run, and a
// shard merged twice is refused.
func TestShardsMergeToTheWhole(t *testing.T) {
	whole := snapshotRun(t, "", "").Report
	var shards []*report.Report
	for i := range 3 {
		o := snapshotRun(t, fmt.Sprintf("%d/3", i), "")
		shards = append(shards, o.Report)
	}
	merged, err := report.Merge(shards)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(r *report.Report) []string {
		var out []string
		for _, f := range r.Findings {
			out = append(out, f.ID)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(merged), ids(whole)) {
		t.Errorf("merged findings differ from the whole run's:\n%v\n%v", ids(merged), ids(whole))
	}
	if math.Abs(merged.Costs.TotalMonthly-whole.Costs.TotalMonthly) > 0.02 || math.Abs(merged.Summary.WasteMonthly-whole.Summary.WasteMonthly) > 0.02 {
		t.Errorf("merged spend %.2f waste %.2f, whole %.2f %.2f", merged.Costs.TotalMonthly, merged.Summary.WasteMonthly, whole.Costs.TotalMonthly, whole.Summary.WasteMonthly)
	}
	for k, n := range whole.Run.Resources {
		if merged.Run.Resources[k] != n {
			t.Errorf("%s: merged %d, whole %d", k, merged.Run.Resources[k], n)
		}
	}
	nonEmpty := 0
	for _, s := range shards {
		if len(s.Findings) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 2 {
		t.Errorf("only %d of 3 shards found anything: the shards do not split the example", nonEmpty)
	}
	if _, err := report.Merge(append(shards, shards[0])); err == nil || !strings.Contains(err.Error(), "both shard 0/3") {
		t.Errorf("merging a shard twice: %v", err)
	}
}

func TestFailOn(t *testing.T) {
	if o := snapshotRun(t, "", "critical"); o.Code != ExitFindings {
		t.Errorf("--fail-on critical with critical findings: exit %d, want %d", o.Code, ExitFindings)
	}
}

// fakeScanner emits one unattached disk per account, or fails.
type fakeScanner struct{ fail string }

func (f fakeScanner) Scan(_ context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	if a.ID == f.fail {
		return errors.New("AccessDenied: not authorized")
	}
	return emit(&inventory.Resource{Kind: inventory.KindDisk, ID: "vol-" + a.ID, Account: a.ID, Cloud: a.Cloud, Region: "us-east-1",
		Disk: &inventory.Disk{SizeGiB: 100, Type: "gp3", Encryption: inventory.Encryption{Encrypted: true}}})
}

// A scan where one account fails still writes the report, lists the
// failed account with its error, and exits 3.
func TestScanWithAFailedAccount(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.yaml")
	if err := os.WriteFile(accounts, []byte(`accounts:
- {cloud: aws, id: "111111111111"}
- {cloud: aws, id: "222222222222"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := NewConfig()
	cfg.Accounts, cfg.Out = accounts, filepath.Join(dir, "out")
	o, err := Run(context.Background(), cfg, Deps{Now: clock, Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudAWS: fakeScanner{fail: "222222222222"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := o.Report
	if o.Code != ExitAccountsFailed || len(r.Run.Accounts) != 2 || r.Run.Accounts[1].Status != inventory.StatusFailed ||
		!strings.Contains(r.Run.Accounts[1].Error, "AccessDenied") {
		t.Fatalf("exit %d, accounts %+v", o.Code, r.Run.Accounts)
	}
	if len(r.Findings) != 1 || r.Findings[0].Resource != "Disk vol-111111111111" {
		t.Errorf("findings %+v", r.Findings)
	}
	back, err := ReadReport(filepath.Join(cfg.Out, "report.json"))
	if err != nil || back.Run.Accounts[1].Error == "" {
		t.Errorf("report.json read back: %v %+v", err, back)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"neither":          {func(c *Config) {}, "give exactly one"},
		"both":             {func(c *Config) { c.Accounts, c.Snapshot = "a", "b" }, "give exactly one"},
		"bad shard":        {func(c *Config) { c.Snapshot, c.Shard = "s", "3/3" }, "--shard"},
		"fail-on":          {func(c *Config) { c.Snapshot, c.FailOn = "s", "urgent" }, `--fail-on "urgent"`},
		"window":           {func(c *Config) { c.Snapshot, c.GPUWindow = "s", time.Second }, "--gpu-window"},
		"merge on shard 1": {func(c *Config) { c.Snapshot, c.Shard, c.MergeInto = "s", "1/3", "m" }, "only shard 0"},
		"merge unsharded":  {func(c *Config) { c.Snapshot, c.MergeInto, c.IndexedJob = "s", "m", true }, "only a sharded run merges"},
	} {
		t.Run(name, func(t *testing.T) {
			c := NewConfig()
			tc.edit(&c)
			if err := c.Validate(false); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// Shard 0 with --merge-into waits for the other shards' reports beside its
// own and merges them: the Indexed Job's last step, without another Job.
// With --indexed-job the other shards take the same flags and do not merge.
func TestShardZeroMerges(t *testing.T) {
	pollEvery = 10 * time.Millisecond
	base := t.TempDir()
	cfg := func(i int) Config {
		c := NewConfig()
		c.Snapshot, c.Shard, c.Out = exampleSnapshot, fmt.Sprintf("%d/3", i), filepath.Join(base, fmt.Sprintf("shard-%d", i))
		return c
	}
	// One set of flags for every shard, as an Indexed Job's pod template
	// gives them: only shard 0 merges.
	merged := filepath.Join(base, "merged")
	indexed := func(i int) Config {
		c := cfg(i)
		c.MergeInto, c.MergeWait, c.IndexedJob = merged, 30*time.Second, true
		return c
	}
	c0 := indexed(0)
	done := make(chan *Outcome, 1)
	go func() {
		o, err := Run(context.Background(), c0, Deps{Now: clock})
		if err != nil {
			t.Error(err)
		}
		done <- o
	}()
	for i := 1; i < 3; i++ {
		time.Sleep(30 * time.Millisecond) // the others finish later
		o, err := Run(context.Background(), indexed(i), Deps{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d/3", i); o.Report.Run.Shard != want {
			t.Errorf("shard %d returned the report of %q, want its own", i, o.Report.Run.Shard)
		}
	}
	o := <-done
	if o == nil || o.Report.Run.Shard != "merged from 3" || len(o.Report.Findings) != 27 {
		t.Fatalf("shard 0's outcome: %+v", o)
	}
	if m, err := ReadReport(filepath.Join(merged, "report.json")); err != nil || len(m.Findings) != 27 {
		t.Errorf("merged report: %v", err)
	}
	// A shard that never comes is an error naming it, after the wait.
	c0.Out, c0.MergeInto, c0.MergeWait, c0.IndexedJob = filepath.Join(t.TempDir(), "shard-0"), t.TempDir(), 50*time.Millisecond, false
	if _, err := Run(context.Background(), c0, Deps{Now: clock}); err == nil || !strings.Contains(err.Error(), "no report from shards [1 2]") {
		t.Errorf("err = %v", err)
	}
}

// --pushgateway pushes the run's metrics to the gateway.
func TestPushgateway(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + r.URL.Path + "\n" + string(body))
	}))
	defer srv.Close()
	cfg := NewConfig()
	cfg.Snapshot, cfg.Out, cfg.Pushgateway = exampleSnapshot, t.TempDir(), srv.URL
	if _, err := Run(context.Background(), cfg, Deps{Now: clock}); err != nil {
		t.Fatal(err)
	}
	s, _ := got.Load().(string)
	if !strings.HasPrefix(s, "PUT /metrics/job/quartermaster_auditor") || !strings.Contains(s, "quartermaster_audit_findings") {
		t.Errorf("pushed: %.300s", s)
	}
}

// With --history, each whole run is stored, and the next one carries the
// trend over both and the changes since the first.
func TestHistory(t *testing.T) {
	store := "dir://" + t.TempDir()
	run := func(at time.Time) *report.Report {
		cfg := NewConfig()
		cfg.Snapshot, cfg.Out, cfg.History = exampleSnapshot, t.TempDir(), store
		o, err := Run(context.Background(), cfg, Deps{Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		return o.Report
	}
	first := run(clock())
	if first.Changes != nil || first.Trend == nil || len(first.Trend.Points) != 1 {
		t.Fatalf("first run: changes %+v trend %+v", first.Changes, first.Trend)
	}
	second := run(clock().Add(24 * time.Hour))
	if second.Changes == nil || second.Changes.Previous != first.Run.ID || len(second.Changes.New) != 0 || len(second.Changes.Resolved) != 0 {
		t.Errorf("second run's changes: %+v", second.Changes)
	}
	if second.Trend == nil || len(second.Trend.Points) != 2 || second.Trend.Points[0].RunID != first.Run.ID {
		t.Errorf("second run's trend: %+v", second.Trend)
	}
}

// In an Indexed Job each shard exits 3 for its own failed accounts only:
// shard 0's merged report lists shard 1's failure, but the Job retries
// shard 1, not shard 0. Without --indexed-job shard 0 answers for the
// merged run.
func TestIndexedJobExitCodes(t *testing.T) {
	pollEvery = 10 * time.Millisecond
	var ids [2]string // an AWS account of each shard
	for n := 100000000000; ids[0] == "" || ids[1] == ""; n++ {
		id := fmt.Sprint(n)
		for i := range ids {
			if ids[i] == "" && (inventory.Shard{Index: i, Count: 2}).Owns(inventory.CloudAWS, id) {
				ids[i] = id
				break
			}
		}
	}
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.yaml")
	if err := os.WriteFile(accounts, fmt.Appendf(nil, "accounts:\n- {cloud: aws, id: %q}\n- {cloud: aws, id: %q}\n", ids[0], ids[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	deps := Deps{Now: clock, Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudAWS: fakeScanner{fail: ids[1]}}}
	for _, indexed := range []bool{true, false} {
		base := filepath.Join(dir, fmt.Sprint(indexed))
		cfg := func(i int) Config {
			c := NewConfig()
			c.Accounts, c.Shard, c.Out = accounts, fmt.Sprintf("%d/2", i), filepath.Join(base, fmt.Sprintf("shard-%d", i))
			return c
		}
		c1 := cfg(1)
		c1.MergeInto, c1.IndexedJob = filepath.Join(base, "merged"), indexed
		if !indexed {
			c1.MergeInto = ""
		}
		o1, err := Run(context.Background(), c1, deps)
		if err != nil || o1.Code != ExitAccountsFailed {
			t.Fatalf("indexed %v: shard 1: exit %v, err %v; want 3", indexed, o1, err)
		}
		c0 := cfg(0)
		c0.MergeInto, c0.MergeWait, c0.IndexedJob = filepath.Join(base, "merged"), 10*time.Second, indexed
		o0, err := Run(context.Background(), c0, deps)
		if err != nil {
			t.Fatal(err)
		}
		failed := slices.ContainsFunc(o0.Report.Run.Accounts, func(a inventory.AccountResult) bool { return a.Status == inventory.StatusFailed })
		want := map[bool]int{true: ExitOK, false: ExitAccountsFailed}[indexed]
		if !failed || o0.Code != want {
			t.Errorf("indexed %v: shard 0 exit %d, want %d; merged accounts %+v", indexed, o0.Code, want, o0.Report.Run.Accounts)
		}
	}
}
