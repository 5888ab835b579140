package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Scanner reads the resources of one account. The cloud and cluster
// adapters implement it; the runner calls it once per account, from
// several goroutines for different accounts.
type Scanner interface {
	// Scan streams every resource of a to emit and returns when the
	// account is done. An error fails the account: the runner discards
	// what it emitted and reports the error in the summary. An error
	// from emit must be returned (wrapped or not): it means the run is
	// stopping.
	Scan(ctx context.Context, a Account, emit func(*Resource) error) error
}

// Runner scans accounts concurrently, within limits, each into a spool file
// of its own; a finished account's spool is replayed to the sink in one
// piece. So an account is in the output whole or not at all, memory does
// not grow with the number of resources, and with a checkpoint directory a
// run killed midway resumes without scanning finished accounts again and
// without counting any of them twice.
type Runner struct {
	Scanners map[Cloud]Scanner
	Limits   Limits
	// Checkpoint is the directory finished accounts are kept in until the
	// run ends; empty means a temporary directory, removed at the end.
	// Run leaves a checkpoint in place when it fails or is cancelled, and
	// removes it after a run in which every account was scanned.
	Checkpoint string
	Log        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Account outcomes in a Summary.
const (
	StatusScanned = "scanned"
	StatusResumed = "resumed" // taken from the checkpoint of an earlier, interrupted run
	StatusFailed  = "failed"
)

// AccountResult is one account's line of the run summary.
type AccountResult struct {
	Account   Account       `json:"account"`
	Status    string        `json:"status"`
	Resources int64         `json:"resources"`
	Duration  time.Duration `json:"duration"`
	Error     string        `json:"error,omitempty"`
}

// Summary is what a run did, account by account, in the order given.
type Summary struct {
	Accounts  []AccountResult `json:"accounts"`
	Resources int64           `json:"resources"`
	Failed    int             `json:"failed"`
}

// checkpointManifest ties a checkpoint directory to the accounts of its run:
// resuming with another account list would mix two inventories.
type checkpointManifest struct {
	Accounts string    `json:"accounts"` // hash of the account keys
	Started  time.Time `json:"started"`
}

// Run scans accounts and hands every resource to sink, one account at a
// time (sink is never called concurrently). It returns an error only when
// the run itself cannot go on (the checkpoint directory, the sink, ctx);
// failed accounts are in the summary, and the caller's exit code should say
// so.
func (r *Runner) Run(ctx context.Context, accounts []Account, sink func(*Resource) error) (*Summary, error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	for _, a := range accounts {
		if r.Scanners[a.Cloud] == nil {
			return nil, fmt.Errorf("account %s: no scanner for cloud %s", a.Key(), a.Cloud)
		}
	}
	dir, temporary, err := r.openCheckpoint(accounts, now())
	if err != nil {
		return nil, err
	}
	if temporary {
		defer os.RemoveAll(dir)
	}
	// A sink that fails stops the scans still running: their output
	// would have nowhere to go.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	sum := &Summary{Accounts: make([]AccountResult, len(accounts))}
	var sinkMu sync.Mutex
	var sinkErr error
	deliver := func(i int, path string) error {
		sinkMu.Lock()
		defer sinkMu.Unlock()
		if sinkErr != nil {
			return sinkErr
		}
		n, err := replay(path, sink)
		if err != nil {
			sinkErr = fmt.Errorf("account %s: %w", accounts[i].Key(), err)
			stop(sinkErr)
			return sinkErr
		}
		sum.Accounts[i].Resources = n
		return nil
	}

	slots := map[Cloud]chan struct{}{}
	for _, a := range accounts {
		if slots[a.Cloud] == nil {
			slots[a.Cloud] = make(chan struct{}, r.Limits.perCloud(a.Cloud))
		}
	}
	var wg sync.WaitGroup
	for i, a := range accounts {
		res := &sum.Accounts[i]
		res.Account = a
		done := filepath.Join(dir, spoolName(a))
		if _, err := os.Stat(done); err == nil {
			res.Status = StatusResumed
			log.Info("account taken from the checkpoint", "account", a.Key())
			if err := deliver(i, done); err != nil {
				break
			}
			continue
		}
		select {
		case slots[a.Cloud] <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots[a.Cloud] }()
			start := now()
			err := r.scanInto(ctx, a, done)
			res.Duration = now().Sub(start)
			if err != nil {
				res.Status, res.Error = StatusFailed, err.Error()
				log.Error("account failed", "account", a.Key(), "err", err)
				return
			}
			res.Status = StatusScanned
			if err := deliver(i, done); err == nil {
				log.Info("account scanned", "account", a.Key(), "resources", res.Resources, "duration", res.Duration)
			}
		}()
	}
	wg.Wait()
	for _, a := range sum.Accounts {
		sum.Resources += a.Resources
		if a.Status == StatusFailed {
			sum.Failed++
		}
	}
	switch {
	case sinkErr != nil:
		return sum, sinkErr
	case ctx.Err() != nil && temporary:
		return sum, fmt.Errorf("scan stopped: %w", context.Cause(ctx))
	case ctx.Err() != nil:
		return sum, fmt.Errorf("scan stopped (finished accounts are kept in the checkpoint %s): %w", dir, context.Cause(ctx))
	}
	switch {
	case temporary: // removed on return
	case sum.Failed == 0:
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("removing the checkpoint", "dir", dir, "err", err)
		}
	default:
		log.Info("a run with the same checkpoint scans only the failed accounts again", "dir", dir, "failed", sum.Failed)
	}
	return sum, nil
}

// scanInto scans a into a temporary spool and renames it to done when the
// account finished: a spool under its final name is always a whole account.
func (r *Runner) scanInto(ctx context.Context, a Account, done string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(done), ".scanning-*")
	if err != nil {
		return fmt.Errorf("creating spool: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w, err := NewSnapshotWriter(f, time.Now())
	if err != nil {
		return err
	}
	if err := r.Scanners[a.Cloud].Scan(ctx, a, func(res *Resource) error {
		if res.Account == "" {
			res.Account = a.ID
		}
		if err := res.Validate(); err != nil {
			return fmt.Errorf("scanner emitted an invalid resource: %w", err)
		}
		return w.Write(res)
	}); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing spool: %w", err)
	}
	return os.Rename(f.Name(), done)
}

// replay hands every resource of a spool to sink and returns their number.
func replay(path string, sink func(*Resource) error) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("opening spool: %w", err)
	}
	defer f.Close()
	s, err := NewSnapshotReader(f)
	if err != nil {
		return 0, fmt.Errorf("spool %s: %w", path, err)
	}
	var n int64
	for {
		res, err := s.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("spool %s: %w", path, err)
		}
		if err := sink(res); err != nil {
			return n, err
		}
		n++
	}
}

// openCheckpoint prepares the spool directory: the configured checkpoint
// (resuming it when it belongs to the same account list) or a temporary one.
func (r *Runner) openCheckpoint(accounts []Account, start time.Time) (dir string, temporary bool, err error) {
	if r.Checkpoint == "" {
		dir, err := os.MkdirTemp("", "quartermaster-scan-")
		if err != nil {
			return "", false, fmt.Errorf("creating spool directory: %w", err)
		}
		return dir, true, nil
	}
	want := checkpointManifest{Accounts: accountsHash(accounts), Started: start.UTC()}
	manifest := filepath.Join(r.Checkpoint, "checkpoint.json")
	raw, err := os.ReadFile(manifest)
	switch {
	case err == nil:
		var got checkpointManifest
		if err := json.Unmarshal(raw, &got); err != nil {
			return "", false, fmt.Errorf("checkpoint %s: %w", manifest, err)
		}
		if got.Accounts != want.Accounts {
			return "", false, fmt.Errorf("checkpoint %s belongs to a run over other accounts (started %s): remove it, or give another --checkpoint", r.Checkpoint, got.Started.Format(time.RFC3339))
		}
		// A killed process leaves the spools of the accounts it was
		// scanning: partial, never to be read, so gone.
		partial, _ := filepath.Glob(filepath.Join(r.Checkpoint, ".scanning-*"))
		for _, p := range partial {
			if err := os.Remove(p); err != nil {
				return "", false, fmt.Errorf("removing a partial spool: %w", err)
			}
		}
		return r.Checkpoint, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("reading checkpoint: %w", err)
	}
	if err := os.MkdirAll(r.Checkpoint, 0o755); err != nil {
		return "", false, fmt.Errorf("creating checkpoint: %w", err)
	}
	raw, _ = json.Marshal(want)
	if err := os.WriteFile(manifest, raw, 0o644); err != nil {
		return "", false, fmt.Errorf("writing checkpoint: %w", err)
	}
	return r.Checkpoint, false, nil
}

func accountsHash(accounts []Account) string {
	keys := make([]string, len(accounts))
	for i, a := range accounts {
		keys[i] = a.Key()
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// spoolName is a file name for an account: readable, and unique even when
// two kubeconfig contexts differ only in characters a file name cannot hold.
func spoolName(a Account) string {
	sum := sha256.Sum256([]byte(a.Key()))
	return string(a.Cloud) + "-" + unsafeName.ReplaceAllString(a.ID, "_") + "-" + hex.EncodeToString(sum[:4]) + ".jsonl.gz"
}
