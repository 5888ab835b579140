package reload

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// MaxFileBytes bounds what File reads, so that a wrong path (a device, a
// log) cannot exhaust memory. It is above the catalog's and quota file's
// own limits, which the parsers enforce with a clearer message.
const MaxFileBytes = costing.MaxCatalogBytes + 1

// Version is one accepted content of a file.
type Version[T any] struct {
	Value T
	// Revision is a short hash of the bytes the value was parsed from:
	// equal content, equal revision, on every replica.
	Revision string
}

// File keeps the parsed content of one file current. Reads go through any
// symlinks at every check, so a ConfigMap's ..data swap is seen as the new
// content, exactly as a fresh start would read it.
//
// A content that fails to read or parse never replaces the one in service;
// Check reports it once, and retries only when the content changes again.
type File[T any] struct {
	path  string
	parse func([]byte) (T, error)

	current atomic.Pointer[Version[T]]
	mu      sync.Mutex // serialises Check
	// failed is the revision (or read error) that was last rejected, so
	// that a broken file is reported once, not at every poll.
	failed string
	// readHook, if set, runs after each read (tests: a write between the
	// two reads of one check).
	readHook func()
}

// NewFile reads and parses path, which must hold a valid content.
func NewFile[T any](path string, parse func([]byte) (T, error)) (*File[T], error) {
	f := &File[T]{path: path, parse: parse}
	data, err := f.read()
	if err != nil {
		return nil, err
	}
	v, err := f.parse(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	f.current.Store(&Version[T]{Value: v, Revision: revisionOf(data)})
	return f, nil
}

// Path is the file watched.
func (f *File[T]) Path() string { return f.path }

// Current is the version in service. It never returns nil.
func (f *File[T]) Current() *Version[T] { return f.current.Load() }

// ErrUnsettled means the file changed while it was read; Check tries again
// at its next call, and this is not a rejection of the content.
var ErrUnsettled = errors.New("file changed while it was read")

// Check reads the file and, if its content changed, parses it and puts it
// in service. It reports whether a new version went into service. An error
// means the new content was rejected (the old version stays); it is
// returned once per rejected content, later checks of the same content
// return (false, nil). ErrUnsettled is returned while the file is being
// written.
func (f *File[T]) Check() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := f.read()
	if err != nil {
		return false, f.fail("unreadable: "+err.Error(), err)
	}
	rev := revisionOf(data)
	if rev == f.current.Load().Revision {
		f.failed = ""
		return false, nil
	}
	if rev == f.failed {
		return false, nil
	}
	// Read again: a plain file rewritten in place (truncated, then
	// written) must not be parsed half-way. A ConfigMap swap is atomic
	// and passes at once.
	again, err := f.read()
	if err != nil {
		return false, f.fail("unreadable: "+err.Error(), err)
	}
	if revisionOf(again) != rev {
		return false, fmt.Errorf("reloading %s: %w", f.path, ErrUnsettled)
	}
	v, err := f.parse(data)
	if err != nil {
		return false, f.fail(rev, fmt.Errorf("parsing %s (revision %s): %w", f.path, rev, err))
	}
	f.current.Store(&Version[T]{Value: v, Revision: rev})
	f.failed = ""
	return true, nil
}

// Failing reports whether the newest content on disk is rejected (or
// unreadable) while the previous version serves.
func (f *File[T]) Failing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed != ""
}

// fail records key as rejected and returns err the first time.
func (f *File[T]) fail(key string, err error) error {
	if key == f.failed {
		return nil
	}
	f.failed = key
	return err
}

func (f *File[T]) read() ([]byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", f.path, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("reading %s: larger than %d MiB", f.path, MaxFileBytes>>20)
	}
	if f.readHook != nil {
		f.readHook()
	}
	return data, nil
}

// revisionOf is the first 12 hex digits of the content's SHA-256, as the
// policy bundle's revision; for a catalog file it equals the catalog's own
// Meta().Revision, which the decision log records.
func revisionOf(data []byte) string { return costing.ContentRevision(data) }
