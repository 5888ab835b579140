package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader keeps the bundle of a directory current. A Kubernetes ConfigMap
// mount updates by swapping its ..data symlink; the reloader reads through
// the links and compares content hashes, so it needs no file notifications
// and sees exactly what a fresh start would.
//
// A bundle that fails to read, parse, compile or pass its own tests never
// replaces the working one: the error is logged, counted in Metrics, and
// retried only when the content changes again.
type Reloader struct {
	dir     string
	opts    Options
	log     *slog.Logger
	metrics *Metrics

	current atomic.Pointer[Bundle]
	mu      sync.Mutex // serialises Check
	// failed is the revision that last failed, so that a broken bundle is
	// reported once, not on every poll.
	failed string
}

// NewReloader loads dir (which must hold a valid bundle) and returns a
// reloader serving it. The bundle's own tests run before it is accepted.
func NewReloader(ctx context.Context, dir string, opts Options, log *slog.Logger, m *Metrics) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.RunTests = true
	r := &Reloader{dir: dir, opts: opts, log: log, metrics: m}
	b, err := LoadDir(ctx, dir, opts)
	if err != nil {
		m.reloaded(false, "")
		return nil, err
	}
	r.current.Store(b)
	m.reloaded(true, b.Revision())
	log.Info("policy bundle loaded", "dir", dir, "revision", b.Revision(), "packages", b.Packages())
	return r, nil
}

// Bundle returns the bundle in service.
func (r *Reloader) Bundle() *Bundle { return r.current.Load() }

// Evaluate runs phase one of the bundle in service; the Evaluation's
// phase two runs the same bundle, even if a reload swaps it in between.
func (r *Reloader) Evaluate(ctx context.Context, in *Input) (*Evaluation, error) {
	return r.current.Load().Evaluate(ctx, in)
}

// errUnsettled means the directory changed while it was read.
var errUnsettled = errors.New("policy directory changed while it was read; retrying at the next check")

// Check reloads the directory if its content changed. It reports whether a
// new bundle went into service; an error means the new content was
// rejected (the old bundle stays).
func (r *Reloader) Check(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fsys := os.DirFS(r.dir)
	files, err := readFiles(fsys)
	if err != nil {
		return false, r.fail("", err)
	}
	rev := revisionOf(files)
	if rev == r.current.Load().Revision() || rev == r.failed {
		return false, nil
	}
	// Read again: a half-written update (a plain directory being copied
	// into) must not be compiled. A ConfigMap swap is atomic anyway.
	again, err := readFiles(fsys)
	if err != nil {
		return false, r.fail("", err)
	}
	if revisionOf(again) != rev {
		return false, errUnsettled
	}
	b, err := LoadFiles(ctx, files, r.opts)
	if err != nil {
		return false, r.fail(rev, err)
	}
	old := r.current.Swap(b)
	r.failed = ""
	r.metrics.reloaded(true, b.Revision())
	r.log.Info("policy bundle reloaded", "dir", r.dir, "revision", b.Revision(), "previous", old.Revision())
	return true, nil
}

func (r *Reloader) fail(rev string, err error) error {
	r.failed = rev
	r.metrics.reloaded(false, r.current.Load().Revision())
	r.log.Error("policy bundle rejected; keeping the bundle in service", "dir", r.dir,
		"revision", rev, "serving", r.current.Load().Revision(), "error", err)
	return fmt.Errorf("reloading policy bundle %s: %w", r.dir, err)
}

// Run checks the directory every interval until ctx ends.
func (r *Reloader) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = r.Check(ctx) // logged and counted in Check
		}
	}
}
