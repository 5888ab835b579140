package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const snapshot = "../../examples/inventory/snapshot.jsonl"

// The binary end to end: audit the example, in two shards, merge them,
// fail on a severity, and refuse bad input with exit 1 and a message.
func TestAuditorCommand(t *testing.T) {
	dir := t.TempDir()
	exec := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := exec("--snapshot", snapshot, "--out", filepath.Join(dir, "whole")); code != 0 ||
		!strings.Contains(out, "27 findings (2 critical, 11 high, 12 medium, 2 low)") {
		t.Fatalf("whole run: exit %d\n%s", code, out)
	}
	for _, s := range []string{"0/2", "1/2"} {
		if code, out := exec("--snapshot", snapshot, "--shard", s, "--out", filepath.Join(dir, "shard-"+s[:1])); code != 0 {
			t.Fatalf("shard %s: exit %d\n%s", s, code, out)
		}
	}
	code, out := exec("merge", "--out", filepath.Join(dir, "merged"), filepath.Join(dir, "shard-0", "report.json"), filepath.Join(dir, "shard-1", "report.json"))
	if code != 0 || !strings.Contains(out, "merged 2 shards: 27 findings") {
		t.Fatalf("merge: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "merged", "report.json")); err != nil {
		t.Error(err)
	}
	if code, out := exec("--snapshot", snapshot, "--out", filepath.Join(dir, "f"), "--fail-on", "high"); code != 2 {
		t.Errorf("--fail-on high: exit %d, want 2\n%s", code, out)
	}
	for args, want := range map[string]string{
		"--out x":                                 "give exactly one",
		"--snapshot nope.jsonl --out x":           "--snapshot: open nope.jsonl",
		"--snapshot " + snapshot + " --shard 1/1": "--shard",
		"snapshot --out x.gz":                     "--accounts: the accounts file to scan is required",
		"merge --out x nope.json":                 "reading report",
	} {
		code, out := exec(strings.Fields(args)...)
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("auditor %s: exit %d, output %q; want 1 and %q", args, code, out, want)
		}
	}
}
