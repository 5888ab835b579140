package history

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/report"
)

// Store keeps the reports of earlier audit runs. Every method honours ctx:
// a cancelled context ends the call with an error that wraps ctx.Err().
type Store interface {
	// Put stores one run's report under its Run.ID and Run.Start. It fails
	// when either is empty. Putting a run with the same ID and start again
	// replaces it; the same ID with another start is another entry, and
	// Get returns the newest.
	Put(ctx context.Context, r *report.Report) error
	// List returns the stored runs, newest first (by Run.Start, then ID).
	// Objects that are not the store's (other names, temporary files) are
	// ignored; an object named like a run whose name cannot be read fails
	// the call with a *CorruptError naming it.
	List(ctx context.Context) ([]RunRef, error)
	// Get reads the newest stored run with this Run.ID. It returns an
	// error satisfying errors.Is(err, ErrNotFound) when there is none, and
	// a *CorruptError naming the object when it cannot be decoded.
	Get(ctx context.Context, id string) (*report.Report, error)
	// Prune deletes the runs the retention does not keep (see Retention).
	// It deletes what it can and returns every failure, each naming its
	// object.
	Prune(ctx context.Context, keep Retention) error
}

// RunRef is one stored run.
type RunRef struct {
	// ID is the run's Run.ID, Time its Run.Start (UTC).
	ID   string
	Time time.Time
	// Name is the object's or file's name in the store, e.g.
	// run-20261129T021500.000000000Z-nightly.json.gz; Location is where it
	// is, for messages (s3://bucket/prefix/name, /var/lib/qm/name).
	Name     string
	Location string
}

// Retention is how many runs Prune keeps. A run is deleted when it is not
// among the newest Runs (Runs > 0) or when it started more than MaxAge ago
// (MaxAge > 0). The newest run is always kept, so that the next run has a
// previous one to compare with however long the auditor was stopped. The
// zero Retention keeps everything.
type Retention struct {
	Runs   int
	MaxAge time.Duration
}

// DefaultRetention keeps 400 runs and at most 400 days: a year of nightly
// runs and a little more, so that a month can be compared with the same
// month a year before.
var DefaultRetention = Retention{Runs: 400, MaxAge: 400 * 24 * time.Hour}

// ErrNotFound is returned (wrapped) by Get when the store has no such run.
var ErrNotFound = errors.New("run not found in the history")

// CorruptError is a stored object that cannot be read back: a truncated or
// foreign file, a name that is not a run's. It is reported with the
// object's location, never skipped silently.
type CorruptError struct {
	Location string
	Err      error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("history: corrupt run %s: %v", e.Location, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// IsCorrupt reports whether err is or wraps a *CorruptError.
func IsCorrupt(err error) bool {
	var c *CorruptError
	return errors.As(err, &c)
}

// errNotExist is what a bucket returns for a missing object.
var errNotExist = errors.New("object does not exist")

// bucket is the little the store needs from a directory or an object
// store: flat names under the store's prefix (the adapters add and strip
// the prefix), whole-object reads and writes. Writes replace an object
// whole or not at all.
type bucket interface {
	// list returns the names directly under the prefix, in any order.
	list(ctx context.Context) ([]string, error)
	// read returns the object's bytes, or an error wrapping errNotExist.
	read(ctx context.Context, name string) ([]byte, error)
	write(ctx context.Context, name string, data []byte) error
	// remove deletes the object; a missing one is not an error.
	remove(ctx context.Context, name string) error
	// location names an object for messages.
	location(name string) string
}

// maxReport bounds one decompressed report (a gzip bomb, a wrong file).
const maxReport = 512 << 20

// store is the Store over any bucket: naming, encoding, retention.
type store struct {
	b   bucket
	now func() time.Time
}

var _ Store = (*store)(nil)

// Put implements Store.
func (s *store) Put(ctx context.Context, r *report.Report) error {
	if r == nil || r.Run.ID == "" || r.Run.Start.IsZero() {
		return errors.New("history: a run needs an ID and a start time to be stored")
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(r); err != nil {
		return fmt.Errorf("history: encoding run %s: %w", r.Run.ID, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("history: compressing run %s: %w", r.Run.ID, err)
	}
	name := objectName(r.Run.ID, r.Run.Start)
	if err := s.b.write(ctx, name, buf.Bytes()); err != nil {
		return fmt.Errorf("history: writing %s: %w", s.b.location(name), err)
	}
	return nil
}

// List implements Store.
func (s *store) List(ctx context.Context) ([]RunRef, error) {
	names, err := s.b.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("history: listing %s: %w", s.b.location(""), err)
	}
	refs := make([]RunRef, 0, len(names))
	for _, n := range names {
		if !strings.HasPrefix(n, namePrefix) || !strings.HasSuffix(n, nameSuffix) {
			continue
		}
		id, t, err := parseName(n)
		if err != nil {
			return nil, &CorruptError{Location: s.b.location(n), Err: err}
		}
		refs = append(refs, RunRef{ID: id, Time: t, Name: n, Location: s.b.location(n)})
	}
	// The names sort by time and then ID; newest first is the reverse.
	slices.SortFunc(refs, func(a, b RunRef) int { return strings.Compare(b.Name, a.Name) })
	return refs, nil
}

// Get implements Store.
func (s *store) Get(ctx context.Context, id string) (*report.Report, error) {
	refs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if ref.ID == id {
			return s.get(ctx, ref)
		}
	}
	return nil, fmt.Errorf("history: run %q in %s: %w", id, s.b.location(""), ErrNotFound)
}

func (s *store) get(ctx context.Context, ref RunRef) (*report.Report, error) {
	data, err := s.b.read(ctx, ref.Name)
	if errors.Is(err, errNotExist) {
		// Pruned between the listing and the read.
		return nil, fmt.Errorf("history: run %q at %s: %w", ref.ID, ref.Location, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("history: reading %s: %w", ref.Location, err)
	}
	r, err := decode(data)
	if err != nil {
		return nil, &CorruptError{Location: ref.Location, Err: err}
	}
	if r.Run.ID != ref.ID {
		return nil, &CorruptError{Location: ref.Location, Err: fmt.Errorf("it holds run %q, not %q", r.Run.ID, ref.ID)}
	}
	return r, nil
}

func decode(data []byte) (*report.Report, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	var r report.Report
	dec := json.NewDecoder(io.LimitReader(zr, maxReport))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding the report: %w", err)
	}
	// Read to the end so that the gzip checksum is verified.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	return &r, nil
}

// Prune implements Store.
func (s *store) Prune(ctx context.Context, keep Retention) error {
	refs, err := s.List(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for i, ref := range refs {
		if i == 0 {
			continue // the newest run is always kept
		}
		byCount := keep.Runs > 0 && i >= keep.Runs
		byAge := keep.MaxAge > 0 && now.Sub(ref.Time) > keep.MaxAge
		if !byCount && !byAge {
			continue
		}
		if err := s.b.remove(ctx, ref.Name); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("history: pruning %s: %w", ref.Location, err)
			}
			errs = append(errs, fmt.Errorf("history: pruning %s: %w", ref.Location, err))
		}
	}
	return errors.Join(errs...)
}

// Recent reads the newest n stored runs (all with n <= 0), newest first.
// A corrupt run is left out of the result and reported in the returned
// error (a join of *CorruptError, and ErrNotFound for a run pruned between
// the listing and the read) together with the runs that could be read, so that one bad object does not stop the trend; any other error
// (the store unreachable, ctx cancelled) returns no runs.
func Recent(ctx context.Context, s Store, n int) ([]*report.Report, error) {
	refs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(refs) > n {
		refs = refs[:n]
	}
	var (
		out     []*report.Report
		corrupt []error
	)
	for _, ref := range refs {
		var r *report.Report
		if st, ok := s.(*store); ok {
			r, err = st.get(ctx, ref) // no listing per run
		} else {
			r, err = s.Get(ctx, ref.ID)
		}
		switch {
		case err == nil:
			out = append(out, r)
		case IsCorrupt(err) || errors.Is(err, ErrNotFound):
			corrupt = append(corrupt, err)
		default:
			return nil, err
		}
	}
	return out, errors.Join(corrupt...)
}
