package main

import (
	"bytes"
	"context"
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
	tests := map[string]struct {
		edit     func(string) string
		wantCode int
		wantOut  string
	}{
		"intact": {edit: func(s string) string { return s }, wantCode: 0, wantOut: "OK 4 lines in 1 files; last hash "},
		"tampered": {edit: func(s string) string {
			return strings.Replace(s, `"user":"carol","operation":"","verb":"","object":"","decision":"denied"`, `"user":"carol","operation":"","verb":"","object":"","decision":"allowed"`, 1)
		}, wantCode: 2, wantOut: "TAMPERED " + path + " line 3: content does not match its sum (edited)\n"},
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			edited := tc.edit(string(orig))
			if name != "intact" && edited == string(orig) {
				t.Fatal("the edit changed nothing")
			}
			if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"log", "verify", path}, nil, &out, &errOut)
			if code != tc.wantCode || !strings.HasPrefix(out.String(), tc.wantOut) {
				t.Fatalf("exit %d, out %q, err %q; want %d %q", code, out.String(), errOut.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}
