package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeScanner emits n disks per account, after a short pause so that
// accounts overlap, and records its concurrency and calls.
type fakeScanner struct {
	perAccount int
	// fail makes these accounts fail after emitting half their disks.
	fail map[string]bool
	// block makes these accounts wait for ctx to end (a run killed
	// while they scan).
	block map[string]bool

	mu       sync.Mutex
	calls    map[string]int
	running  atomic.Int64
	maxAtOne atomic.Int64
}

func (f *fakeScanner) Scan(ctx context.Context, a Account, emit func(*Resource) error) error {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[a.ID]++
	f.mu.Unlock()
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxAtOne.Load()
		if n <= m || f.maxAtOne.CompareAndSwap(m, n) {
			break
		}
	}
	for i := range f.perAccount {
		if f.fail[a.ID] && i == f.perAccount/2 {
			return errors.New("AccessDenied: not authorized to perform ec2:DescribeVolumes")
		}
		if err := emit(disk(a.ID, i)); err != nil {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
	if f.block[a.ID] {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (f *fakeScanner) callsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

func disk(account string, i int) *Resource {
	return &Resource{Kind: KindDisk, ID: fmt.Sprintf("vol-%s-%d", account, i), Account: account, Cloud: CloudAWS,
		Region: "eu-west-1", Observed: time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC),
		Disk: &Disk{SizeGiB: 100, Type: "gp3", Encryption: Encryption{Encrypted: true, KeyKind: KeyProviderManaged}}}
}

func awsAccounts(n int) []Account {
	out := make([]Account, n)
	for i := range out {
		out[i] = Account{Cloud: CloudAWS, ID: fmt.Sprintf("%012d", 100000000000+i)}
	}
	return out
}

// collect is a sink that counts resources per account and notices a
// resource delivered twice or concurrent calls.
type collect struct {
	inSink atomic.Bool
	mu     sync.Mutex // for the test goroutine's reads; the runner never calls sink concurrently
	seen   map[string]bool
	per    map[string]int
	err    error
}

func (c *collect) accounts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.per)
}

func (c *collect) sink(r *Resource) error {
	if !c.inSink.CompareAndSwap(false, true) {
		c.err = errors.New("sink called concurrently")
	}
	defer c.inSink.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen, c.per = map[string]bool{}, map[string]int{}
	}
	if c.seen[r.ID] {
		c.err = fmt.Errorf("%s delivered twice", r.ID)
	}
	c.seen[r.ID] = true
	c.per[r.Account]++
	return nil
}

func TestRunScansEveryAccountWithinLimits(t *testing.T) {
	accounts := awsAccounts(12)
	accounts[4].ID = "999999999999"
	sc := &fakeScanner{perAccount: 50, fail: map[string]bool{"999999999999": true}}
	r := &Runner{Scanners: map[Cloud]Scanner{CloudAWS: sc}, Limits: Limits{PerCloud: map[Cloud]int{CloudAWS: 3}}}
	var c collect
	sum, err := r.Run(context.Background(), accounts, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	if got := sc.maxAtOne.Load(); got > 3 || got < 2 {
		t.Errorf("at most %d accounts scanned at once, want 2–3 under a limit of 3", got)
	}
	if sum.Failed != 1 || sum.Resources != 11*50 || len(sum.Accounts) != 12 {
		t.Fatalf("summary: %d failed, %d resources, %d accounts; want 1, 550, 12", sum.Failed, sum.Resources, len(sum.Accounts))
	}
	failed := sum.Accounts[4]
	if failed.Status != StatusFailed || !strings.Contains(failed.Error, "AccessDenied") || failed.Resources != 0 {
		t.Errorf("the failing account: %+v; want failed with its error and none of its resources", failed)
	}
	if c.per["999999999999"] != 0 {
		t.Errorf("%d resources of the failed account reached the sink; an account is delivered whole or not at all", c.per["999999999999"])
	}
	for i, a := range sum.Accounts {
		if i != 4 && (a.Status != StatusScanned || a.Resources != 50 || a.Account.ID != accounts[i].ID) {
			t.Errorf("account %d: %+v", i, a)
		}
	}
}

// A run killed midway (its context cancelled while some accounts scan)
// resumes from its checkpoint: finished accounts are replayed, not scanned
// again; unfinished ones are scanned; nothing is delivered twice in the
// resumed run, and the checkpoint is removed once every account is done.
func TestRunResumesFromCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	accounts := awsAccounts(6)
	blocked := accounts[5].ID
	sc := &fakeScanner{perAccount: 20, block: map[string]bool{blocked: true}}
	r := &Runner{Scanners: map[Cloud]Scanner{CloudAWS: sc}, Limits: Limits{PerCloud: map[Cloud]int{CloudAWS: 2}}, Checkpoint: dir}
	ctx, cancel := context.WithCancel(context.Background())
	var first collect
	done := make(chan struct{})
	var sum1 *Summary
	var err1 error
	go func() {
		defer close(done)
		sum1, err1 = r.Run(ctx, accounts, first.sink)
	}()
	// Kill the run once the blocking account is the only one left.
	for deadline := time.Now().Add(10 * time.Second); first.accounts() < 5 || sc.running.Load() != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the first run did not reach the blocking account")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if err1 == nil || !errors.Is(err1, context.Canceled) || !strings.Contains(err1.Error(), dir) {
		t.Fatalf("killed run: err %v, want cancelled naming the checkpoint", err1)
	}
	if sum1.Accounts[5].Status != StatusFailed {
		t.Errorf("the account scanning when killed: %+v", sum1.Accounts[5])
	}
	spools, _ := filepath.Glob(filepath.Join(dir, "*.jsonl.gz"))
	partial, _ := filepath.Glob(filepath.Join(dir, ".scanning-*"))
	if len(spools) != 5 || len(partial) != 0 {
		t.Fatalf("checkpoint holds %d finished and %d partial spools, want 5 and 0", len(spools), len(partial))
	}

	// What a SIGKILL would leave behind: a partial spool.
	if err := os.WriteFile(filepath.Join(dir, ".scanning-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc.block = nil
	var second collect
	sum2, err := r.Run(context.Background(), accounts, second.sink)
	if err != nil {
		t.Fatal(err)
	}
	if second.err != nil {
		t.Fatal(second.err)
	}
	for i, a := range accounts {
		want := 1
		if a.ID == blocked {
			want = 2
		}
		if got := sc.callsOf(a.ID); got != want {
			t.Errorf("account %s scanned %d times over both runs, want %d", a.ID, got, want)
		}
		status := StatusResumed
		if a.ID == blocked {
			status = StatusScanned
		}
		if s := sum2.Accounts[i]; s.Status != status || s.Resources != 20 {
			t.Errorf("resumed run, account %s: %+v, want %s with 20 resources", a.ID, s, status)
		}
	}
	if sum2.Resources != 120 || len(second.seen) != 120 {
		t.Errorf("resumed run delivered %d resources (%d distinct), want 120", sum2.Resources, len(second.seen))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("checkpoint left after a complete run: %v", err)
	}
}

func TestRunRefusesAnotherRunsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	sc := &fakeScanner{perAccount: 1, fail: map[string]bool{"100000000001": true}}
	r := &Runner{Scanners: map[Cloud]Scanner{CloudAWS: sc}, Checkpoint: dir}
	if _, err := r.Run(context.Background(), awsAccounts(2), func(*Resource) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := r.Run(context.Background(), awsAccounts(3), func(*Resource) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "belongs to a run over other accounts") {
		t.Fatalf("err = %v, want the checkpoint refused", err)
	}
}

func TestRunStopsWhenTheSinkFails(t *testing.T) {
	sc := &fakeScanner{perAccount: 10}
	r := &Runner{Scanners: map[Cloud]Scanner{CloudAWS: sc}}
	calls := 0
	_, err := r.Run(context.Background(), awsAccounts(20), func(*Resource) error {
		calls++
		if calls == 15 {
			return errors.New("disk full")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the sink's error", err)
	}
	if calls != 15 {
		t.Errorf("the sink was called %d times, want no call after its error", calls)
	}
}

func TestRunNeedsAScannerPerCloud(t *testing.T) {
	r := &Runner{Scanners: map[Cloud]Scanner{CloudAWS: &fakeScanner{}}}
	_, err := r.Run(context.Background(), []Account{{Cloud: CloudGCP, ID: "ml-prod-1234"}}, func(*Resource) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no scanner for cloud gcp") {
		t.Fatalf("err = %v", err)
	}
}

func TestSpoolNamesAreUnique(t *testing.T) {
	names := []string{
		spoolName(Account{Cloud: CloudKube, ID: "arn:aws:eks:eu-west-1:1:cluster/a"}),
		spoolName(Account{Cloud: CloudKube, ID: "arn_aws_eks_eu-west-1_1_cluster_a"}),
		spoolName(Account{Cloud: CloudAWS, ID: "111111111111"}),
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != 3 {
		t.Errorf("spool names collide: %v", names)
	}
	for _, n := range names {
		if strings.ContainsAny(n, "/:") {
			t.Errorf("spool name %q holds a path separator or colon", n)
		}
	}
}
