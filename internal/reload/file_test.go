package reload

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// configMap lays out dir as the kubelet mounts a ConfigMap: the files in a
// timestamped directory, ..data linking to it, and one link per key.
type configMap struct {
	t   *testing.T
	dir string
	gen int
}

func newConfigMap(t *testing.T, files map[string]string) *configMap {
	c := &configMap{t: t, dir: t.TempDir()}
	c.write(files)
	return c
}

func (c *configMap) path(name string) string { return filepath.Join(c.dir, name) }

// write publishes files as the kubelet does: a new timestamped directory,
// then a ..data_tmp link renamed over ..data in one atomic step.
func (c *configMap) write(files map[string]string) {
	c.t.Helper()
	c.gen++
	ts := filepath.Join(c.dir, "..2026_11_29_"+strconv.Itoa(c.gen))
	if err := os.Mkdir(ts, 0o755); err != nil {
		c.t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(ts, name), []byte(body), 0o644); err != nil {
			c.t.Fatal(err)
		}
		link := filepath.Join(c.dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
}

// parseInt is the simplest parser that can fail.
func parseInt(b []byte) (int, error) { return strconv.Atoi(strings.TrimSpace(string(b))) }

// TestFileCheck walks one file through the life of a mounted ConfigMap:
// each step writes a content (through the ..data swap, or in place) and
// checks what Check reports and what is in service after it.
func TestFileCheck(t *testing.T) {
	type step struct {
		write   string // "" leaves the file as it is
		inPlace bool   // overwrite the file itself, not through ..data
		remove  bool
		changed bool
		err     string // substring; "" means no error
		serving int
		failing bool
	}
	tests := map[string]struct {
		steps []step
	}{
		"unchanged content is not reloaded": {steps: []step{
			{serving: 1},
			{write: "1", serving: 1},
		}},
		"new content through a ..data swap": {steps: []step{
			{write: "2", changed: true, serving: 2},
			{write: "3", changed: true, serving: 3},
		}},
		"a broken file is reported once and never served": {steps: []step{
			{write: "two", err: `parsing ` + "", serving: 1, failing: true},
			{serving: 1, failing: true},
			{write: "two", serving: 1, failing: true},
		}},
		"a fix after a broken file goes into service": {steps: []step{
			{write: "x", err: "invalid syntax", serving: 1, failing: true},
			{write: "4", changed: true, serving: 4},
		}},
		"back to the served content clears the failure, and the same break is reported again": {steps: []step{
			{write: "x", err: "invalid syntax", serving: 1, failing: true},
			{write: "1", serving: 1},
			{write: "x", err: "invalid syntax", serving: 1, failing: true},
		}},
		"a missing file keeps the version in service, reported once": {steps: []step{
			{remove: true, err: "no such file", serving: 1, failing: true},
			{serving: 1, failing: true},
			{write: "5", changed: true, serving: 5},
		}},
		"a plain file rewritten in place": {steps: []step{
			{write: "6", inPlace: true, changed: true, serving: 6},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cm := newConfigMap(t, map[string]string{"n": "1"})
			f, err := NewFile(cm.path("n"), parseInt)
			if err != nil {
				t.Fatal(err)
			}
			first := f.Current().Revision
			for i, s := range tc.steps {
				switch {
				case s.remove:
					if err := os.Remove(cm.path("n")); err != nil {
						t.Fatal(err)
					}
				case s.inPlace:
					// Replace the link by a plain file, as an operator
					// editing a host path would.
					os.Remove(cm.path("n"))
					if err := os.WriteFile(cm.path("n"), []byte(s.write), 0o644); err != nil {
						t.Fatal(err)
					}
				case s.write != "":
					if _, err := os.Lstat(cm.path("n")); err != nil {
						if err := os.Symlink(filepath.Join("..data", "n"), cm.path("n")); err != nil {
							t.Fatal(err)
						}
					}
					cm.write(map[string]string{"n": s.write})
				}
				changed, err := f.Check()
				if changed != s.changed {
					t.Errorf("step %d: changed %v, want %v", i, changed, s.changed)
				}
				if (err == nil) != (s.err == "") || err != nil && !strings.Contains(err.Error(), s.err) {
					t.Errorf("step %d: error %v, want %q", i, err, s.err)
				}
				if got := f.Current().Value; got != s.serving {
					t.Errorf("step %d: serving %d, want %d", i, got, s.serving)
				}
				if f.Failing() != s.failing {
					t.Errorf("step %d: failing %v, want %v", i, f.Failing(), s.failing)
				}
				if rev := f.Current().Revision; (s.serving == 1) != (rev == first) || len(rev) != 12 {
					t.Errorf("step %d: revision %q (first %q)", i, rev, first)
				}
			}
		})
	}
}

func TestNewFileNeedsAValidFile(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		body string // "" means no file
		want string
	}{
		"missing": {want: "opening"},
		"broken":  {body: "one", want: "parsing " + filepath.Join(dir, "broken")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if tc.body != "" {
				if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := NewFile(path, parseInt); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestFileUnsettled: content that changes between the two reads of one
// check is neither served nor counted as broken.
func TestFileUnsettled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(path, parseInt)
	if err != nil {
		t.Fatal(err)
	}
	// A parser that cannot be reached: the file is rewritten between the
	// two reads by a hook on the first read.
	n := 0
	f.parse = func(b []byte) (int, error) { n++; return parseInt(b) }
	if err := os.WriteFile(path, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.readHook = func() { os.WriteFile(path, []byte("3"), 0o644) }
	changed, err := f.Check()
	if changed || !errors.Is(err, ErrUnsettled) || n != 0 || f.Failing() {
		t.Fatalf("changed %v, err %v, parsed %d times, failing %v", changed, err, n, f.Failing())
	}
	f.readHook = nil
	if changed, err := f.Check(); !changed || err != nil || f.Current().Value != 3 {
		t.Fatalf("after settling: changed %v, err %v, serving %d", changed, err, f.Current().Value)
	}
}
