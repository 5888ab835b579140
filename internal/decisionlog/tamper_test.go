package decisionlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// splitLines returns a log's lines without their newlines.
func splitLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func writeLines(t *testing.T, lines [][]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edited.log")
	if err := os.WriteFile(p, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// forge encodes a decision line with the given place in the chain, as a
// forger who knows the format would.
func forge(t *testing.T, seq int64, prev string, i int) []byte {
	t.Helper()
	l, err := encodeLine(nil, seq, prev, entry(i))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestVerifyNamesTheFirstWrongLine guards issue 17 item 10: deleting the
// first line is found, and a broken link is blamed on the line that is
// actually wrong, not on the intact line before it.
func TestVerifyNamesTheFirstWrongLine(t *testing.T) {
	path := writeLog(t, Options{}, 100)
	orig := splitLines(t, path)
	h := func(i int) string { return lineHash(orig[i-1]) } // hash of line i
	tests := map[string]struct {
		edit     func(l [][]byte) [][]byte
		wantLine int
		wantMsg  string
	}{
		"first line deleted": {
			edit:     func(l [][]byte) [][]byte { return l[1:] },
			wantLine: 1, wantMsg: "the chain starts at sequence 2 without a genesis",
		},
		"first three lines deleted": {
			edit:     func(l [][]byte) [][]byte { return l[3:] },
			wantLine: 1, wantMsg: "the chain starts at sequence 4 without a genesis",
		},
		"lines 2 and 3 swapped": {
			edit:     func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l },
			wantLine: 2, wantMsg: "sequence 3 where 2 was expected",
		},
		"line 50 deleted": {
			edit:     func(l [][]byte) [][]byte { return slices.Delete(l, 49, 50) },
			wantLine: 50, wantMsg: "sequence 51 where 50 was expected: the line with sequence 50 was removed",
		},
		"lines 50 to 52 deleted": {
			edit:     func(l [][]byte) [][]byte { return slices.Delete(l, 49, 52) },
			wantLine: 50, wantMsg: "the lines with sequences 50 to 52 were removed",
		},
		"line 5 moved after line 8": {
			edit: func(l [][]byte) [][]byte {
				five := l[4]
				l = slices.Delete(l, 4, 5)
				return slices.Insert(l, 7, five)
			},
			wantLine: 5, wantMsg: "sequence 6 where 5 was expected",
		},
		"sequence goes back": {
			edit:     func(l [][]byte) [][]byte { l[60] = l[10]; return l },
			wantLine: 61, wantMsg: "sequence 11 where 61 was expected: the sequence goes back",
		},
		"forged line inserted before line 31, linked and numbered": {
			edit:     func(l [][]byte) [][]byte { return slices.Insert(l, 30, forge(t, 31, h(30), 999)) },
			wantLine: 31, wantMsg: "inserted: line 32 holds the same sequence 31 and predecessor",
		},
		"forged line inserted after line 31, numbered as 31": {
			edit:     func(l [][]byte) [][]byte { return slices.Insert(l, 31, forge(t, 31, h(30), 999)) },
			wantLine: 32, wantMsg: "inserted: it repeats sequence 31",
		},
		"line 40 replaced by a forgery with its sequence": {
			edit:     func(l [][]byte) [][]byte { l[39] = forge(t, 40, h(38), 999); return l },
			wantLine: 40, wantMsg: "replaced: it does not link to line 39, and line 41 does not link to it",
		},
		"line 10 edited with a recomputed sum": {
			edit: func(l [][]byte) [][]byte {
				body, _ := checkSum(l[9])
				l[9] = resum(bytes.Replace(body, []byte(`"region":"us-east-1"`), []byte(`"region":"eu-west-1"`), 1))
				return l
			},
			wantLine: 10, wantMsg: "altered: line 11 (sequence 11) records a different hash for it",
		},
		"line 1 edited with a recomputed sum": {
			edit: func(l [][]byte) [][]byte {
				body, _ := checkSum(l[0])
				l[0] = resum(bytes.Replace(body, []byte(`"decision":"patched"`), []byte(`"decision":"allowed"`), 1))
				return l
			},
			wantLine: 1, wantMsg: "altered: line 2 (sequence 2) records a different hash for it",
		},
		"a rotation header inserted in the middle": {
			edit: func(l [][]byte) [][]byte {
				hd, _ := encodeHeader(nil, header{Seq: 21, PrevSeq: 20, Prev: h(20)})
				return slices.Insert(l, 20, hd)
			},
			wantLine: 21, wantMsg: `a "rotation" line in the middle of a file`,
		},
		"last line replaced: ambiguous, the earlier candidate is named": {
			edit:     func(l [][]byte) [][]byte { l[99] = forge(t, 100, h(98), 999); return l },
			wantLine: 99, wantMsg: "altered (or line 100, the last, replaced)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lines := make([][]byte, len(orig))
			copy(lines, orig)
			edited := writeLines(t, tc.edit(lines))
			rep, err := VerifyFiles([]string{edited})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Problem == nil {
				t.Fatalf("tampering not found: %+v", rep)
			}
			if rep.Problem.Line != tc.wantLine || !strings.Contains(rep.Problem.Msg, tc.wantMsg) {
				t.Errorf("problem at line %d: %q\nwant line %d: %q", rep.Problem.Line, rep.Problem.Msg, tc.wantLine, tc.wantMsg)
			}
		})
	}
}

// rotatedLog writes n entries with tiny files and returns the files oldest
// first (the live file last).
func rotatedLog(t *testing.T, n int) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "decisions.log")
	tick := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { tick = tick.Add(time.Second); return tick }
	writeLog(t, Options{Path: path, MaxBytes: 4096, MaxFiles: 100, Now: now}, n)
	rotated, _ := filepath.Glob(path + ".*")
	slices.Sort(rotated)
	return append(rotated, path)
}

// TestRotationHeaders: every file after a rotation starts with a header
// recording the previous file's last sequence and hash, so a file read
// alone is anchored, and a cut at a seam is found.
func TestRotationHeaders(t *testing.T) {
	files := rotatedLog(t, 120)
	if len(files) < 4 {
		t.Fatalf("want at least 4 files, got %d", len(files))
	}
	prevLines := splitLines(t, files[1])
	second := splitLines(t, files[2])
	var hd header
	if err := json.Unmarshal(second[0], &hd); err != nil || hd.Kind != KindRotation ||
		hd.Prev != lineHash(prevLines[len(prevLines)-1]) || hd.PrevFile != filepath.Base(files[1]) || hd.PrevSeq != hd.Seq-1 {
		t.Fatalf("first line of %s is not the rotation header of %s: %s (%v)", files[2], files[1], second[0], err)
	}
	tests := map[string]struct {
		files    func(t *testing.T) []string
		opts     Verifier
		wantFile int // index into the files given; -1: no problem
		wantLine int
		wantMsg  string
		anchor   string
	}{
		"all files": {
			files: func(*testing.T) []string { return files }, wantFile: -1, anchor: AnchorGenesis,
		},
		"a rotated file alone is anchored by its header": {
			files: func(*testing.T) []string { return files[2:3] }, wantFile: -1, anchor: AnchorRotation,
		},
		"the last rotated files and the live one": {
			files: func(*testing.T) []string { return files[len(files)-3:] }, wantFile: -1, anchor: AnchorRotation,
		},
		"header deleted": {
			files: func(t *testing.T) []string {
				return []string{writeLines(t, splitLines(t, files[2])[1:])}
			},
			wantFile: 0, wantLine: 1, wantMsg: "without a genesis (sequence 1, zero prev) or a rotation header",
		},
		"first decision after the header deleted": {
			files: func(t *testing.T) []string {
				return []string{writeLines(t, slices.Delete(splitLines(t, files[2]), 1, 2))}
			},
			wantFile: 0, wantLine: 2, wantMsg: "was removed",
		},
		"last line of the previous file deleted": {
			files: func(t *testing.T) []string {
				l := splitLines(t, files[1])
				return []string{files[0], writeLines(t, l[:len(l)-1]), files[2]}
			},
			wantFile: 2, wantLine: 1, wantMsg: "lines were removed from the end of that file, or the files are out of order",
		},
		"files out of order": {
			files:    func(*testing.T) []string { return []string{files[0], files[2], files[1]} },
			wantFile: 1, wantLine: 1, wantMsg: "out of order",
		},
		"a second genesis after the first file": {
			files:    func(*testing.T) []string { return []string{files[0], files[0]} },
			wantFile: 1, wantLine: 1, wantMsg: "starts a new chain (sequence 1)",
		},
		"header with a forged previous sequence": {
			files: func(t *testing.T) []string {
				l := splitLines(t, files[2])
				var h header
				_ = json.Unmarshal(l[0], &h)
				h.PrevSeq += 5
				l[0], _ = encodeHeader(nil, h)
				return []string{writeLines(t, l)}
			},
			wantFile: 0, wantLine: 1, wantMsg: "header forged",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			given := tc.files(t)
			rep, err := tc.opts.Files(given)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantFile < 0 {
				if rep.Problem != nil || rep.Anchor != tc.anchor {
					t.Fatalf("want intact with anchor %q: %+v %v", tc.anchor, rep, rep.Problem)
				}
				return
			}
			if rep.Problem == nil {
				t.Fatalf("not found: %+v", rep)
			}
			if rep.Problem.File != given[tc.wantFile] || rep.Problem.Line != tc.wantLine || !strings.Contains(rep.Problem.Msg, tc.wantMsg) {
				t.Errorf("problem %+v\nwant %s:%d %q", *rep.Problem, given[tc.wantFile], tc.wantLine, tc.wantMsg)
			}
		})
	}
}

// TestLegacyLogsWithoutHeaders: a log written before rotation headers
// verifies from its genesis, and a headerless rotated file continues the
// file before it; read alone, such a file is reported (it is what deleting
// the first lines looks like) unless AllowUnanchored takes it on trust.
func TestLegacyLogsWithoutHeaders(t *testing.T) {
	path := writeLog(t, Options{}, 30)
	lines := splitLines(t, path)
	older, legacyRotated := writeLines(t, lines[:12]), writeLines(t, lines[12:])
	tests := map[string]struct {
		files   []string
		opts    Verifier
		wantErr string
		anchor  string
	}{
		"older file then headerless file": {files: []string{older, legacyRotated}, anchor: AnchorGenesis},
		"headerless file alone":           {files: []string{legacyRotated}, wantErr: "the chain starts at sequence 13 without a genesis"},
		"headerless file alone, trusted":  {files: []string{legacyRotated}, opts: Verifier{AllowUnanchored: true}, anchor: AnchorTrusted},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rep, err := tc.opts.Files(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if rep.Problem == nil || rep.Problem.Line != 1 || !strings.Contains(rep.Problem.Msg, tc.wantErr) {
					t.Fatalf("problem %v, want line 1 %q", rep.Problem, tc.wantErr)
				}
				return
			}
			if rep.Problem != nil || rep.Anchor != tc.anchor || rep.LastSeq != 30 {
				t.Fatalf("report %+v problem %v", rep, rep.Problem)
			}
		})
	}
}

// TestEmptyLiveFileContinuesTheRotatedOne: a crash between the rename and
// the header, or a deleted live file, must not start a second genesis.
func TestEmptyLiveFileContinuesTheRotatedOne(t *testing.T) {
	files := rotatedLog(t, 60)
	live := files[len(files)-1]
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	writeLog(t, Options{Path: live}, 3)
	rep, err := VerifyFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil {
		t.Fatalf("problem %v", rep.Problem)
	}
	if first := splitLines(t, live)[0]; !bytes.Contains(first, []byte(`"kind":"rotation"`)) {
		t.Fatalf("live file starts with %s, want a rotation header", first)
	}
}

// TestHeadForAWitness: the writer exports the head (sequence and hash) as
// metrics, in a periodic log line and through Head; a verifier given that
// head finds a truncated tail or a rewritten chain (issue 17 item 10).
func TestHeadForAWitness(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	reg := prometheus.NewPedanticRegistry()
	var mu sync.Mutex
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), nil))
	w, err := Open(Options{Path: path, Registerer: reg, Logger: logger, HeadLogInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := w.Record(entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The periodic line: wait for one that shows all 100 lines.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		ok := strings.Contains(logged.String(), `"msg":"decision log head"`) && strings.Contains(logged.String(), `"seq":100,`)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no periodic head line with seq 100 in %s", logged.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	head := w.Head()
	rep, err := VerifyFiles([]string{path})
	if err != nil || rep.Problem != nil {
		t.Fatalf("%v %v", err, rep)
	}
	if head.Seq != 100 || head.Hash != rep.LastHash || rep.LastSeq != 100 {
		t.Fatalf("head %+v, verified head %d %s", head, rep.LastSeq, rep.LastHash)
	}
	if !strings.Contains(logged.String(), `"msg":"decision log closed","path":"`+path+`","seq":100,"hash":"`+head.Hash+`"`) {
		t.Errorf("no closing head line in %s", logged.String())
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "quartermaster_decision_log_head_") {
			got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if got["quartermaster_decision_log_head_sequence"] != 100 || uint64(got["quartermaster_decision_log_head_hash_prefix"]) != HashPrefix(head.Hash) ||
		HashPrefix(head.Hash) == 0 {
		t.Fatalf("head metrics %v, want 100 and %d", got, HashPrefix(head.Hash))
	}

	lines := splitLines(t, path)
	rewritten := slices.Clone(lines)
	for i := 95; i < 100; i++ { // a forger rewrites the chain from line 96 on
		rewritten[i] = forge(t, int64(i+1), lineHash(rewritten[i-1]), 1000+i)
	}
	metricHex := fmt.Sprintf("%013x", HashPrefix(head.Hash)) // what printf %013x makes of the metric
	tests := map[string]struct {
		lines   [][]byte
		witness string
		want    string // problem message part, or "" for none
		report  string // Report.Witness when no problem
	}{
		"intact, full hash":            {lines: lines, witness: "100:" + head.Hash, report: "matched"},
		"intact, hash from the metric": {lines: lines, witness: "100:" + metricHex, report: "matched"},
		"intact, earlier witness":      {lines: lines, witness: "40:" + lineHash(lines[39]), report: "matched"},
		"tail of 3 lines removed":      {lines: lines[:97], witness: "100:" + head.Hash, want: "truncated: the log ends at sequence 97, but a witness saw sequence 100"},
		"chain rewritten from line 96": {lines: rewritten, witness: "100:" + head.Hash, want: "the witness saw sequence 100 with hash"},
		"emptied log":                  {lines: nil, witness: "100:" + head.Hash, want: "truncated: the log ends at sequence 0"},
		"witness before the file":      {lines: lines[50:], witness: "10:" + lineHash(lines[9]), report: "precedes the files"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			wh, err := ParseHead(tc.witness)
			if err != nil {
				t.Fatal(err)
			}
			file := writeLines(t, tc.lines)
			if tc.lines == nil {
				if err := os.WriteFile(file, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Verifier{Witness: &wh, AllowUnanchored: true}.Files([]string{file})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Problem != nil && rep.Problem.File != file {
				t.Errorf("problem names %q, want %q", rep.Problem.File, file)
			}
			if tc.want == "" {
				if rep.Problem != nil || rep.Witness != tc.report {
					t.Fatalf("report %+v problem %v, want witness %q", rep, rep.Problem, tc.report)
				}
				return
			}
			if rep.Problem == nil || !strings.Contains(rep.Problem.Msg, tc.want) {
				t.Fatalf("problem %v, want %q", rep.Problem, tc.want)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestParseHead(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Head
		err  bool
	}{
		"full hash":        {in: "7:" + strings.Repeat("ab", 32), want: Head{7, strings.Repeat("ab", 32)}},
		"13-digit prefix":  {in: "7:ABCDEF0123456", want: Head{7, "abcdef0123456"}},
		"prefix too short": {in: "7:abcdef", err: true},
		"not hex":          {in: "7:abcdef012345z", err: true},
		"no sequence":      {in: ":abcdef0123456", err: true},
		"sequence 0":       {in: "0:abcdef0123456", err: true},
		"hash too long":    {in: "7:" + strings.Repeat("ab", 33), err: true},
		"no separator":     {in: "7abcdef0123456", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseHead(tc.in)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Fatalf("ParseHead(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
}
