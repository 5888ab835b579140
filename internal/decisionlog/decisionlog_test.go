package decisionlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func entry(i int) *Entry {
	return &Entry{
		ID: fmt.Sprintf("uid-%d/mutate", i), Time: time.Date(2026, 12, 1, 10, 0, i%60, 0, time.UTC), UID: fmt.Sprintf("uid-%d", i),
		User: "alice", Operation: "mutate", Verb: "CREATE", Object: fmt.Sprintf("Job ml/train-%d", i), Decision: "patched",
		Placement: json.RawMessage(`{"cloud":"aws","region":"us-east-1"}`), PolicyRevision: "rev-1",
	}
}

func writeLog(t *testing.T, opts Options, n int) string {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "decisions.log")
	}
	w, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Record(entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return opts.Path
}

func TestFirstLineFormat(t *testing.T) {
	path := writeLog(t, Options{}, 1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":1,"id":"uid-0/mutate","time":"2026-12-01T10:00:00Z","uid":"uid-0","user":"alice","operation":"mutate","verb":"CREATE","object":"Job ml/train-0","decision":"patched","placement":{"cloud":"aws","region":"us-east-1"},"policyRevision":"rev-1","prev":"0000000000000000000000000000000000000000000000000000000000000000","sum":"`
	if !strings.HasPrefix(string(data), want) || !strings.HasSuffix(string(data), "\"}\n") || bytes.Count(data, []byte("\n")) != 1 {
		t.Fatalf("line\n%s\nwant prefix\n%s", data, want)
	}
}

// TestTamper edits one line in several ways; verification names it.
func TestTamper(t *testing.T) {
	tests := map[string]struct {
		edit     func(lines [][]byte) [][]byte
		wantLine int
		wantMsg  string
	}{
		"intact": {edit: func(l [][]byte) [][]byte { return l }},
		"edited field": {
			edit: func(l [][]byte) [][]byte {
				l[41] = bytes.Replace(l[41], []byte(`"decision":"patched"`), []byte(`"decision":"allowed"`), 1)
				return l
			},
			wantLine: 42, wantMsg: "content does not match its sum (edited)",
		},
		"edited with recomputed sum": {
			edit: func(l [][]byte) [][]byte {
				body, _ := checkSum(l[9])
				body = bytes.Replace(body, []byte(`"region":"us-east-1"`), []byte(`"region":"eu-west-1"`), 1)
				l[9] = resum(body)
				return l
			},
			wantLine: 10, wantMsg: "altered: line 11 (sequence 11) records a different hash for it, and the chain goes on from line 11",
		},
		"deleted line": {
			edit:     func(l [][]byte) [][]byte { return slices.Delete(l, 20, 21) },
			wantLine: 21, wantMsg: "sequence 22 where 21 was expected: the line with sequence 21 was removed, or this line was moved here",
		},
		"last line edited": {
			edit: func(l [][]byte) [][]byte {
				l[99] = bytes.Replace(l[99], []byte(`alice`), []byte(`mallory`), 1)
				return l
			},
			wantLine: 100, wantMsg: "content does not match its sum (edited)",
		},
		"truncated line": {
			edit:     func(l [][]byte) [][]byte { l[4] = l[4][:30]; return l },
			wantLine: 5, wantMsg: "does not end with a sum field",
		},
	}
	path := writeLog(t, Options{}, 100)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lines := bytes.Split(bytes.TrimSuffix(bytes.Clone(orig), []byte("\n")), []byte("\n"))
			lines = tc.edit(lines)
			edited := filepath.Join(t.TempDir(), "edited.log")
			if err := os.WriteFile(edited, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := VerifyFiles([]string{edited})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantLine == 0 {
				if rep.Problem != nil || rep.Lines != 100 || rep.FirstPrev != zeroHash {
					t.Fatalf("intact log: %+v %v", rep, rep.Problem)
				}
				return
			}
			if rep.Problem == nil {
				t.Fatalf("tampering not found: %+v", rep)
			}
			if rep.Problem.Line != tc.wantLine || rep.Problem.Msg != tc.wantMsg || rep.Problem.File != edited {
				t.Errorf("problem %+v, want line %d %q", *rep.Problem, tc.wantLine, tc.wantMsg)
			}
		})
	}
}

// resum recomputes a line's own sum, as a careful forger would.
func resum(body []byte) []byte {
	out := append([]byte(nil), body[:len(body)-1]...)
	out = append(out, sumPrefix...)
	out = append(out, lineHash(body)...)
	return append(out, '"', '}')
}

func TestRotationKeepsTheChain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "decisions.log")
	tick := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { tick = tick.Add(time.Second); return tick }
	writeLog(t, Options{Path: path, MaxBytes: 4096, MaxFiles: 3, Now: now}, 200)
	rotated, _ := filepath.Glob(path + ".*")
	if len(rotated) != 3 {
		t.Fatalf("want 3 rotated files kept, got %v", rotated)
	}
	slices.Sort(rotated)
	files := append(rotated, path)
	for _, f := range files {
		info, _ := os.Stat(f)
		if info.Size() > 4096 {
			t.Errorf("%s is %d bytes, over the limit", f, info.Size())
		}
	}
	rep, err := VerifyFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || rep.Files != 4 || rep.FirstPrev == zeroHash {
		t.Fatalf("report %+v problem %v", rep, rep.Problem)
	}
	// Out of order files break the chain at the seam.
	rep, _ = VerifyFiles([]string{rotated[1], rotated[0]})
	if rep.Problem == nil || rep.Problem.File != rotated[0] || rep.Problem.Line != 1 {
		t.Fatalf("reordered files: %+v", rep.Problem)
	}
}

func TestRestartContinuesTheChain(t *testing.T) {
	path := writeLog(t, Options{}, 5)
	writeLog(t, Options{Path: path}, 5)
	rep, err := VerifyFiles([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || rep.Lines != 10 {
		t.Fatalf("report %+v problem %v", rep, rep.Problem)
	}
}

// TestNoLinesLostUnderPressure records from many goroutines through a tiny
// queue: every Record blocks rather than drops.
func TestNoLinesLostUnderPressure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	w, err := Open(Options{Path: path, QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				if err := w.Record(entry(g*1000 + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(entry(0)); err == nil {
		t.Error("Record after Close must fail")
	}
	rep, err := VerifyFiles([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || rep.Lines != 4000 {
		t.Fatalf("want 4000 intact lines, got %+v %v", rep, rep.Problem)
	}
}
