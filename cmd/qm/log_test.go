package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
)

// TestLogVerifyNamesTheTamperedLine writes a real log, edits line 3 as an
// attacker would with a text editor, and runs `qm log verify`.
func TestLogVerifyNamesTheTamperedLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	w, err := decisionlog.Open(decisionlog.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		if err := w.Record(&decisionlog.Entry{ID: user, Time: time.Unix(0, 0).UTC(), User: user, Decision: "denied"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	head := w.Head()
	lines := func(s string) []string { return strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n") }
	tests := map[string]struct {
		edit     func(string) string
		args     []string
		wantCode int
		wantOut  string
	}{
		"intact": {edit: func(s string) string { return s }, wantCode: 0, wantOut: "OK 4 lines in 1 files from genesis at sequence 1; head sequence 4, last hash "},
		"tampered": {edit: func(s string) string {
			return strings.Replace(s, `"user":"carol","operation":"","verb":"","object":"","decision":"denied"`, `"user":"carol","operation":"","verb":"","object":"","decision":"allowed"`, 1)
		}, wantCode: 2, wantOut: "TAMPERED " + path + " line 3: content does not match its sum (edited)\n"},
		// Issue 17 item 10: these two passed or blamed the wrong line.
		"first line deleted": {edit: func(s string) string { return strings.Join(lines(s)[1:], "") },
			wantCode: 2, wantOut: "TAMPERED " + path + " line 1: the chain starts at sequence 2 without a genesis"},
		"lines 2 and 3 swapped": {edit: func(s string) string {
			l := lines(s)
			l[1], l[2] = l[2], l[1]
			return strings.Join(l, "")
		}, wantCode: 2, wantOut: "TAMPERED " + path + " line 2: sequence 3 where 2 was expected"},
		"headerless tail taken on trust": {edit: func(s string) string { return strings.Join(lines(s)[1:], "") },
			args: []string{"--allow-unanchored"}, wantCode: 0, wantOut: "OK 3 lines in 1 files from trusted at sequence 2"},
		"witness matches": {edit: func(s string) string { return s },
			args: []string{"--witness", fmt.Sprintf("4:%s", head.Hash[:13])}, wantCode: 0, wantOut: "OK 4 lines"},
		"tail cut, seen by the witness": {edit: func(s string) string { return strings.Join(lines(s)[:3], "") },
			args: []string{"--witness", fmt.Sprintf("4:%s", head.Hash)}, wantCode: 2, wantOut: "TAMPERED " + path + " line 3: truncated: the log ends at sequence 3, but a witness saw sequence 4"},
		"bad witness": {edit: func(s string) string { return s }, args: []string{"--witness", "4:abc"}, wantCode: 1},
		"bad output":  {edit: func(s string) string { return s }, args: []string{"-o", "yaml"}, wantCode: 1},
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			edited := tc.edit(string(orig))
			if tc.wantCode == 2 && edited == string(orig) {
				t.Fatal("the edit changed nothing")
			}
			if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), append(append([]string{"log", "verify"}, tc.args...), path), nil, &out, &errOut)
			if code != tc.wantCode || !strings.HasPrefix(out.String(), tc.wantOut) {
				t.Fatalf("exit %d, out %q, err %q; want %d %q", code, out.String(), errOut.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}
