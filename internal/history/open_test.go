package history

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestOpenRefuses(t *testing.T) {
	for url, want := range map[string]string{
		"/var/lib/qm":            "unknown scheme",
		"file:///var/lib/qm":     "unknown scheme",
		"dir://relative/path":    "three slashes",
		"dir://":                 "three slashes",
		"s3:///prefix":           "no bucket",
		"gs://":                  "no bucket",
		"azblob://acct":          "account and the container",
		"s3://bucket/p?region=x": "query",
		"ftp://host/x":           "unknown scheme",
		"azblob:///container/x":  "account and the container",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := Open(t.Context(), url, Options{Anonymous: true})
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "want dir:///path") {
				t.Errorf("Open(%q) = %v, want an error saying %q and listing the URL forms", url, err, want)
			}
		})
	}
}

func TestOpenLocations(t *testing.T) {
	for url, want := range map[string]string{
		"s3://b":              "s3://b/x",
		"s3://b/a/b/":         "s3://b/a/b/x",
		"gs://b/p":            "gs://b/p/x",
		"azblob://acct/c":     "azblob://acct/c/x",
		"azblob://acct/c/p/q": "azblob://acct/c/p/q/x",
	} {
		s, err := Open(t.Context(), url, Options{Anonymous: true, Endpoint: "http://127.0.0.1:1", Region: "us-east-1"})
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if got := s.(*store).b.location("x"); got != want {
			t.Errorf("Open(%q) locates x at %q, want %q", url, got, want)
		}
	}
}

// TestDirectory checks what docs/history.md says of the directory store:
// created with mode 0750, files 0640, no temporary file left, other files
// left alone by Prune.
func TestDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "history")
	s, err := Open(t.Context(), "dir://"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("directory: %v, %v", fi, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Put(t.Context(), sample("r"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Prune(t.Context(), Retention{Runs: 1}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if fi, _ := e.Info(); strings.HasPrefix(e.Name(), "run-") && fi.Mode().Perm() != 0o640 {
			t.Errorf("%s has mode %v, want 0640", e.Name(), fi.Mode().Perm())
		}
	}
	if want := []string{"notes.txt", objectName("r2", t0.Add(2*time.Hour))}; !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
}

func TestNames(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	for _, id := range []string{"a", "nightly 2026/11/24", "ünï_code-1.2", "%_2f"} {
		n := objectName(id, at)
		gotID, gotT, err := parseName(n)
		if err != nil || gotID != id || !gotT.Equal(at) {
			t.Errorf("parseName(objectName(%q)) = %q, %v, %v", id, gotID, gotT, err)
		}
		if strings.ContainsAny(n, " /%") {
			t.Errorf("objectName(%q) = %q: not portable", id, n)
		}
	}
	if n := objectName("nightly 2026/11/24", at); n != "run-20260102T020405.000000006Z-nightly_202026_2f11_2f24.json.gz" {
		t.Errorf("objectName = %q (docs/history.md shows this one)", n)
	}
	if n := objectName("a", at); n != "run-20260102T020405.000000006Z-a.json.gz" {
		t.Errorf("objectName = %q", n)
	}
	for _, bad := range []string{"run-x.json.gz", "run-20260102T020405.000000006Z-a_zz.json.gz", "run-20261302T020405.000000006Z-a.json.gz"} {
		if _, _, err := parseName(bad); err == nil {
			t.Errorf("parseName(%q) succeeded", bad)
		}
	}
}
