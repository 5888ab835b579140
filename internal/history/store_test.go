package history

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// harness is one store under test with a way to plant raw objects in its
// backend (by name under the store's prefix) and, for the object stores,
// to make the server hang.
type harness struct {
	store Store
	plant func(name string, data []byte)
	hang  func(bool)
}

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// stores builds each store kind on a clock fixed at now, each call a new,
// empty store. The fake object stores use prefix qm/history and get a
// foreign object beside the prefix and one below it, which List must not
// return; Azurite's stores each get their own prefix in one container.
func stores(t *testing.T, now time.Time) map[string]func(*testing.T) harness {
	clock := func() time.Time { return now }
	fake := func(scheme string, serve func(*testing.T, *backend, string) string) func(*testing.T) harness {
		return func(t *testing.T) harness {
			b := newBackend()
			endpoint := serve(t, b, "runs")
			b.set("qm/other-"+objectName("foreign", t0), []byte("not ours"))
			b.set("qm/history/older/"+objectName("nested", t0), []byte("not ours"))
			u := scheme + "://runs/qm/history"
			if scheme == "azblob" {
				u = "azblob://acct/runs/qm/history"
			}
			s, err := Open(t.Context(), u, Options{Endpoint: endpoint, Anonymous: true, Region: "eu-west-1", Now: clock})
			if err != nil {
				t.Fatalf("Open(%s): %v", u, err)
			}
			return harness{store: s, plant: func(n string, d []byte) { b.set("qm/history/"+n, d) }, hang: b.hang.Store}
		}
	}
	emu := startEmulators(t)
	return map[string]func(*testing.T) harness{
		"dir": func(t *testing.T) harness {
			dir := filepath.Join(t.TempDir(), "history")
			s, err := Open(t.Context(), "dir://"+dir, Options{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			plant := func(n string, d []byte) {
				if err := os.WriteFile(filepath.Join(dir, n), d, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// A temporary file left by a crash is not a run.
			plant(".tmp-"+objectName("crashed", t0)+"-123", []byte("half"))
			return harness{store: s, plant: plant}
		},
		"s3": fake("s3", func(t *testing.T, b *backend, c string) string { return fakeS3(t, b, c).URL }),
		"gcs": fake("gs", func(t *testing.T, b *backend, c string) string {
			return fakeGCS(t, b, c).URL + "/storage/v1/"
		}),
		"azblob":  fake("azblob", func(t *testing.T, b *backend, c string) string { return fakeAzure(t, b, c).URL }),
		"azurite": func(t *testing.T) harness { return emu.azurite(t, clock) },
	}
}

// sample is a run with a few findings and costs, enough for a round trip
// to compare every field kind.
func sample(id string, start time.Time) *report.Report {
	return &report.Report{
		Version: report.Version,
		Run:     report.Run{ID: id, Start: start, End: start.Add(3 * time.Minute), Sources: []string{"snapshot.json"}},
		Findings: []audit.Finding{{ID: "f1-" + id, Category: audit.CategoryCompliance, Severity: "high", Code: "audit-bucket-public",
			Resource: "Bucket b", Account: "111", Cloud: "aws", Policy: "quartermaster.audit.buckets", Message: "public"}},
		Costs:   audit.Costs{ByTeam: []audit.CostLine{{Key: "vision", GPUs: 8, Monthly: 1234.5}}, TotalMonthly: 1234.5},
		Summary: audit.Summary{Findings: 1, SpendMonthly: 1234.5},
	}
}

// five puts five runs, not in time order, one with an ID that needs
// escaping.
func five(t *testing.T, s Store) []*report.Report {
	t.Helper()
	var rs []*report.Report
	for i, d := range []int{3, 0, 4, 1, 2} {
		id := []string{"run-a", "run-b", "nightly 2026/11/24", "run-d", "run-e"}[i]
		r := sample(id, t0.Add(time.Duration(d)*24*time.Hour))
		if err := s.Put(t.Context(), r); err != nil {
			t.Fatalf("Put(%s): %v", id, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func listIDs(t *testing.T, s Store) []string {
	t.Helper()
	refs, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids
}

// storesNow is the clock of TestStores: day 4 + 1h after t0.
var storesNow = t0.Add(4*24*time.Hour + time.Hour)

func TestStores(t *testing.T) {
	testStores(t, stores(t, storesNow))
}

// testStores runs the Store contract against each store kind; MinIO's are
// in minio_test.go (make test-minio).
func testStores(t *testing.T, kinds map[string]func(*testing.T) harness) {
	for kind, openStore := range kinds {
		t.Run(kind, func(t *testing.T) {
			open := openStore
			t.Run("list is newest first", func(t *testing.T) {
				h := open(t)
				five(t, h.store)
				want := []string{"nightly 2026/11/24", "run-a", "run-e", "run-d", "run-b"}
				if d := cmp.Diff(want, listIDs(t, h.store)); d != "" {
					t.Errorf("List (-want +got):\n%s", d)
				}
				refs, _ := h.store.List(t.Context())
				if !refs[0].Time.Equal(t0.Add(96*time.Hour)) || !strings.Contains(refs[0].Location, refs[0].Name) {
					t.Errorf("newest ref = %+v", refs[0])
				}
			})
			t.Run("get round trip", func(t *testing.T) {
				h := open(t)
				rs := five(t, h.store)
				for _, want := range rs {
					got, err := h.store.Get(t.Context(), want.Run.ID)
					if err != nil {
						t.Fatalf("Get(%s): %v", want.Run.ID, err)
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("Get(%s) (-want +got):\n%s", want.Run.ID, d)
					}
				}
				if _, err := h.store.Get(t.Context(), "never"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get(never) = %v, want ErrNotFound", err)
				}
			})
			t.Run("put again replaces", func(t *testing.T) {
				h := open(t)
				rs := five(t, h.store)
				again := *rs[0]
				again.Summary.Findings = 42
				if err := h.store.Put(t.Context(), &again); err != nil {
					t.Fatal(err)
				}
				got, err := h.store.Get(t.Context(), again.Run.ID)
				if err != nil || got.Summary.Findings != 42 || len(listIDs(t, h.store)) != 5 {
					t.Errorf("after a second Put: %v, findings %v, %d runs", err, got, len(listIDs(t, h.store)))
				}
			})
			t.Run("put refuses a run without ID or start", func(t *testing.T) {
				h := open(t)
				for _, r := range []*report.Report{nil, sample("", t0), sample("x", time.Time{})} {
					if err := h.store.Put(t.Context(), r); err == nil {
						t.Errorf("Put(%v) succeeded", r)
					}
				}
			})
			t.Run("prune by count", func(t *testing.T) {
				h := open(t)
				five(t, h.store)
				if err := h.store.Prune(t.Context(), Retention{Runs: 3}); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff([]string{"nightly 2026/11/24", "run-a", "run-e"}, listIDs(t, h.store)); d != "" {
					t.Errorf("after Prune (-want +got):\n%s", d)
				}
			})
			t.Run("prune by age", func(t *testing.T) {
				h := open(t)
				five(t, h.store)
				// now is day 4 + 1h: day 2 is 49h old, day 1 73h old.
				if err := h.store.Prune(t.Context(), Retention{MaxAge: 50 * time.Hour}); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff([]string{"nightly 2026/11/24", "run-a", "run-e"}, listIDs(t, h.store)); d != "" {
					t.Errorf("after Prune (-want +got):\n%s", d)
				}
				// Everything is older than a minute, but the newest run stays.
				if err := h.store.Prune(t.Context(), Retention{Runs: 10, MaxAge: time.Minute}); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff([]string{"nightly 2026/11/24"}, listIDs(t, h.store)); d != "" {
					t.Errorf("after Prune (-want +got):\n%s", d)
				}
			})
			t.Run("corrupt object is reported with its name", func(t *testing.T) {
				h := open(t)
				five(t, h.store)
				bad := objectName("bad", t0.Add(-time.Hour))
				h.plant(bad, []byte("this is not gzip"))
				truncated := objectName("cut", t0.Add(-2*time.Hour))
				h.plant(truncated, gzipped(t, `{"version":1,"run":{"id":"cut"`))
				h.plant("README.txt", []byte("ignored: not a run's name"))
				for _, id := range []string{"bad", "cut"} {
					_, err := h.store.Get(t.Context(), id)
					if !IsCorrupt(err) || !strings.Contains(err.Error(), objectName(id, t0)[:4]) {
						t.Errorf("Get(%s) = %v, want a CorruptError", id, err)
					}
				}
				rs, err := Recent(t.Context(), h.store, 0)
				if len(rs) != 5 || !IsCorrupt(err) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), truncated) {
					t.Errorf("Recent = %d runs, %v; want the 5 good runs and both corrupt names", len(rs), err)
				}
				rs, err = Recent(t.Context(), h.store, 2)
				if len(rs) != 2 || err != nil {
					t.Errorf("Recent(2) = %d runs, %v; want 2 runs and no error", len(rs), err)
				}
				h.plant("run-garbage.json.gz", []byte{})
				if _, err := h.store.List(t.Context()); !IsCorrupt(err) || !strings.Contains(err.Error(), "run-garbage.json.gz") {
					t.Errorf("List with a misnamed run = %v, want a CorruptError naming it", err)
				}
			})
			t.Run("context cancelled", func(t *testing.T) {
				h := open(t)
				rs := five(t, h.store)
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				calls(t, ctx, h.store, rs[0], context.Canceled)
				if h.hang == nil {
					return
				}
				// A request in flight ends when its context does.
				h.hang(true)
				defer h.hang(false)
				ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
				defer cancel()
				calls(t, ctx, h.store, rs[0], context.DeadlineExceeded)
			})
		})
	}
}

// calls runs each Store method under ctx and wants an error wrapping want,
// within a few seconds.
func calls(t *testing.T, ctx context.Context, s Store, r *report.Report, want error) {
	t.Helper()
	for name, call := range map[string]func() error{
		"Put":   func() error { return s.Put(ctx, r) },
		"List":  func() error { _, err := s.List(ctx); return err },
		"Get":   func() error { _, err := s.Get(ctx, r.Run.ID); return err },
		"Prune": func() error { return s.Prune(ctx, Retention{Runs: 1}) },
	} {
		start := time.Now()
		err := call()
		if !errors.Is(err, want) {
			t.Errorf("%s = %v, want %v", name, err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v after its context ended", name, d)
		}
	}
}

// listFails is a Store whose listing fails, wrapping a working one to
// exercise Recent's path for a Store that is not this package's.
type listFails struct {
	Store
	err error
}

func (l listFails) List(ctx context.Context) ([]RunRef, error) {
	if l.err != nil {
		return nil, l.err
	}
	return l.Store.List(ctx)
}

func TestRecent(t *testing.T) {
	s, err := Open(t.Context(), "dir://"+t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	five(t, s)
	rs, err := Recent(t.Context(), listFails{Store: s}, 3)
	if err != nil || len(rs) != 3 || rs[0].Run.ID != "nightly 2026/11/24" || rs[2].Run.ID != "run-e" {
		t.Errorf("Recent(3) through another Store = %d runs, %v", len(rs), err)
	}
	down := errors.New("store unreachable")
	if rs, err := Recent(t.Context(), listFails{Store: s, err: down}, 0); rs != nil || !errors.Is(err, down) {
		t.Errorf("Recent with a failing store = %v, %v; want no runs and the error", rs, err)
	}
}
