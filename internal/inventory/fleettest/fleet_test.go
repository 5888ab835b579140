package fleettest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"google.golang.org/api/option"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/aws"
	"github.com/quartermaster-io/quartermaster/internal/inventory/azure"
	"github.com/quartermaster-io/quartermaster/internal/inventory/fleettest"
	"github.com/quartermaster-io/quartermaster/internal/inventory/gcp"
)

// childEnv names the scan's configuration file when the test binary runs
// as the scanning child process of a fleet run.
const childEnv = "QM_FLEET_SCAN"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		if err := scan(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// scanConfig is what the child scans, and where to.
type scanConfig struct {
	AWS         fleettest.AWSURLs
	ARM, Google string
	Accounts    []inventory.Account
	// Checkpoint is the runner's checkpoint directory; Out the inventory
	// the run writes (a snapshot), Summary its run summary (JSON).
	Checkpoint, Out, Summary string
	PerCloud                 int
}

// observed is every resource's observation time, so that two runs'
// inventories compare byte for byte.
var observed = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

// Retry policies with the clouds' real shapes but millisecond bounds: the
// fleet throttles a fifth of its calls, and waits of seconds, right for the
// clouds, would only make the benchmark measure sleep.
var (
	awsRetry   = aws.Retry{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	azureRetry = policy.RetryOptions{MaxRetries: 9, RetryDelay: time.Millisecond, MaxRetryDelay: 50 * time.Millisecond, TryTimeout: time.Minute}
	gcpRetry   = gcp.Retry{MaxAttempts: 10, Initial: time.Millisecond, Max: 20 * time.Millisecond, Timeout: time.Minute}
)

// scan is the child: the real adapters over the fleet's servers, through
// the runner and its checkpoint, writing the inventory to cfg.Out.
func scan(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg scanConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	now := func() time.Time { return observed }
	ctx := context.Background()
	awsScanner, err := aws.New(aws.Config{
		AWS:       awssdk.Config{Region: fleettest.FleetRegion, Credentials: credentials.NewStaticCredentialsProvider(fleettest.AWSCallerKey, "caller-secret", "")},
		Endpoints: aws.Endpoints{STS: cfg.AWS.STS, Organizations: cfg.AWS.Organizations, EC2: cfg.AWS.EC2, KMS: cfg.AWS.KMS, S3: cfg.AWS.S3, S3PathStyle: true},
		Retry:     awsRetry,
		Now:       now,
	})
	if err != nil {
		return err
	}
	azureSource, err := azure.New(azure.Config{
		Credential: &azfake.TokenCredential{},
		ClientOptions: arm.ClientOptions{ClientOptions: azcore.ClientOptions{
			Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: "https://login.microsoftonline.com/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Audience: "https://management.core.windows.net/", Endpoint: cfg.ARM},
			}},
			InsecureAllowCredentialWithHTTP: true, // the fake ARM is plain HTTP
		}},
		Retry: azureRetry,
		Now:   now,
	})
	if err != nil {
		return err
	}
	gcpSource, err := gcp.New(ctx, gcp.Config{
		Options:  []option.ClientOption{option.WithoutAuthentication()},
		Compute:  []option.ClientOption{option.WithEndpoint(cfg.Google)},
		Storage:  []option.ClientOption{option.WithEndpoint(cfg.Google + "/storage/v1/")},
		Projects: []option.ClientOption{option.WithEndpoint(cfg.Google)},
		Retry:    gcpRetry,
		Now:      now,
	})
	if err != nil {
		return err
	}
	defer gcpSource.Close()
	r := &inventory.Runner{
		Scanners:   map[inventory.Cloud]inventory.Scanner{inventory.CloudAWS: awsScanner, inventory.CloudAzure: azureSource, inventory.CloudGCP: gcpSource},
		Checkpoint: cfg.Checkpoint,
		Limits:     inventory.Limits{PerCloud: map[inventory.Cloud]int{inventory.CloudAWS: cfg.PerCloud, inventory.CloudAzure: cfg.PerCloud, inventory.CloudGCP: cfg.PerCloud}},
	}
	out, err := os.Create(cfg.Out)
	if err != nil {
		return err
	}
	w, err := inventory.NewSnapshotWriter(out, observed)
	if err != nil {
		return err
	}
	sum, err := r.Run(ctx, cfg.Accounts, w.Write)
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	raw, err = json.Marshal(sum)
	if err != nil {
		return err
	}
	return os.WriteFile(cfg.Summary, raw, 0o644)
}

// run is one child's run: its summary, wall time and peak RSS.
type run struct {
	sum    *inventory.Summary
	wall   time.Duration
	rssMiB float64
	killed bool
}

// start runs the test binary as a scanning child; killAt > 0 kills it
// (SIGKILL) once that many accounts are finished in its checkpoint.
func start(tb testing.TB, cfg scanConfig, killAt int) run {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "scan.json")
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var r run
	if killAt > 0 {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case err := <-done:
				tb.Fatalf("the scan ended (%v) before %d accounts were finished: %s", err, killAt, stderr.String())
			case <-tick.C:
				if finished(tb, cfg.Checkpoint) >= killAt {
					break wait
				}
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			tb.Fatal(err)
		}
		<-done
		r.killed = true
	} else if err := cmd.Wait(); err != nil {
		tb.Fatalf("scan: %v: %s", err, stderr.String())
	}
	r.wall = time.Since(begin)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssMiB = float64(ru.Maxrss) / 1024 // kB on Linux
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); r.killed && (!ok || ws.Signal() != syscall.SIGKILL) {
		tb.Fatalf("the scan was not killed: %v", cmd.ProcessState)
	}
	if !r.killed {
		raw, err := os.ReadFile(cfg.Summary)
		if err != nil {
			tb.Fatal(err)
		}
		r.sum = &inventory.Summary{}
		if err := json.Unmarshal(raw, r.sum); err != nil {
			tb.Fatal(err)
		}
	}
	return r
}

// finished counts the accounts a checkpoint holds: the spools under their
// final names (a spool being written is .scanning-*).
func finished(tb testing.TB, dir string) int {
	m, err := filepath.Glob(filepath.Join(dir, "*.jsonl.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	return len(m)
}

// inventoryOf reads a run's inventory as sorted JSON lines, and counts its
// resources per account.
func inventoryOf(tb testing.TB, path string) ([]string, map[string]int) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := inventory.NewSnapshotReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var lines []string
	per := map[string]int{}
	for {
		res, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		raw, _ := json.Marshal(res)
		lines = append(lines, string(raw))
		per[string(res.Cloud)+"/"+res.Account]++
	}
	slices.Sort(lines)
	return lines, per
}

// sub returns the calls of each account made since before.
func sub(now, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range now {
		if d := n - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// resourcesPerAccount is what each fleet account holds: on AWS a key, an
// instance, its volume, a snapshot and a bucket; on Azure and GCP the same
// without the key.
func resourcesPerAccount(c inventory.Cloud) int {
	if c == inventory.CloudAWS {
		return 5
	}
	return 4
}

// BenchmarkFleet scans a simulated fleet over the three clouds through the
// real adapters and SDKs, against httptest servers speaking each API's
// wire format, with a fifth of all calls throttled (AWS RequestLimitExceeded,
// SlowDown, Throttling; ARM 429 with Retry-After; Google 429
// rateLimitExceeded). The scan runs in a child process three times: once
// uninterrupted, for reference; once killed (SIGKILL) when half the
// accounts are finished; once resumed from the killed run's checkpoint. The
// resumed inventory must equal the reference, every account in it with its
// resources exactly once. It reports the wall time of the killed and resumed
// runs together, their calls, the calls repeated after the resume (those
// the killed run made for accounts it had not finished; goal ≤ 5%), the
// share throttled, and the scanning process's peak RSS (goal: flat in the
// number of accounts; the fakes run in the benchmark's own process and are
// not in it).
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{250, 1000} {
		b.Run(strconv.Itoa(n)+"-accounts", func(b *testing.B) {
			for range b.N {
				fleet(b, n)
			}
		})
	}
}

// TestFleetResume is the benchmark's check at a small size, so that make
// test keeps it working.
func TestFleetResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the scan in child processes")
	}
	fleet(t, 60)
}

func fleet(tb testing.TB, n int) {
	f := fleettest.NewFleet(tb, n, 5, 2*time.Millisecond)
	dir := tb.TempDir()
	cfg := func(name string) scanConfig {
		return scanConfig{AWS: f.AWS.URLs(), ARM: f.ARMURL, Google: f.GoogleURL, Accounts: f.Accounts, PerCloud: inventory.DefaultPerCloud,
			Checkpoint: filepath.Join(dir, name+"-checkpoint"), Out: filepath.Join(dir, name+".jsonl.gz"), Summary: filepath.Join(dir, name+".json")}
	}

	ref := start(tb, cfg("reference"), 0)
	refCalls := f.CallsByAccount()
	want, per := inventoryOf(tb, cfg("reference").Out)
	if ref.sum.Failed != 0 || len(per) != n {
		tb.Fatalf("reference run: %d accounts failed, %d delivered; want 0 and %d", ref.sum.Failed, len(per), n)
	}

	crash := cfg("crash")
	killed := start(tb, crash, n/2)
	atKill := f.CallsByAccount()
	kept := finished(tb, crash.Checkpoint)
	resumed := start(tb, crash, 0)
	end := f.CallsByAccount()

	got, per := inventoryOf(tb, crash.Out)
	if resumed.sum.Failed != 0 || len(per) != n {
		tb.Fatalf("resumed run: %d accounts failed, %d delivered; want 0 and %d", resumed.sum.Failed, len(per), n)
	}
	taken := 0
	for _, a := range resumed.sum.Accounts {
		if a.Status == inventory.StatusResumed {
			taken++
		}
	}
	if taken != kept {
		tb.Errorf("resumed run took %d accounts from the checkpoint, which held %d", taken, kept)
	}
	for _, a := range f.Accounts {
		if c, want := per[a.Key()], resourcesPerAccount(a.Cloud); c != want {
			tb.Errorf("account %s: %d resources in the resumed inventory, want exactly %d", a.Key(), c, want)
		}
	}
	if !slices.Equal(got, want) {
		tb.Fatalf("the resumed inventory (%d resources) differs from the uninterrupted run's (%d)", len(got), len(want))
	}

	// Calls repeated: those the killed run made for accounts it had not
	// finished, which the resumed run made again from the start.
	first, second := sub(atKill, refCalls), sub(end, atKill)
	repeated := 0
	for k, c := range first {
		if second[k] > 0 {
			repeated += c
		}
	}
	calls := total(first) + total(second)
	seen, throttled := f.Throttle.Counts()
	rss := max(ref.rssMiB, killed.rssMiB, resumed.rssMiB)
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric((killed.wall + resumed.wall).Seconds(), "wall-s")
		b.ReportMetric(ref.wall.Seconds(), "wall-s-uninterrupted")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(total(refCalls)), "calls-uninterrupted")
		b.ReportMetric(100*float64(repeated)/float64(calls), "%-calls-repeated")
		b.ReportMetric(100*float64(throttled)/float64(seen), "%-calls-throttled")
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.ReportMetric(float64(len(want)), "resources")
	}
	tb.Logf("%d accounts, %d resources: uninterrupted %v, %d calls; killed after %v with %d accounts finished, resumed in %v; %d calls, %d repeated (%.1f%%); %d of %d calls throttled; peak RSS %.0f MiB (uninterrupted %.0f, killed %.0f, resumed %.0f)",
		n, len(want), ref.wall.Round(time.Millisecond), total(refCalls), killed.wall.Round(time.Millisecond), kept, resumed.wall.Round(time.Millisecond),
		calls, repeated, 100*float64(repeated)/float64(calls), throttled, seen, rss, ref.rssMiB, killed.rssMiB, resumed.rssMiB)
}
