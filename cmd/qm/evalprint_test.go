package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEvalTableForFinOps covers what the table promises a FinOps reader:
// total GPUs held (not one node's), exempt workloads marked, totals per hour
// and per month, the 1-hour default duration called out, control characters
// escaped, whole notes with --wide, and the same rows as CSV.
func TestEvalTableForFinOps(t *testing.T) {
	onePodOnBigNode := strings.Replace(gpuPod, "quartermaster.io/team: research}", "quartermaster.io/team: research, quartermaster.io/gpu-models: T4}", 1)
	escName := strings.Replace(gpuPod, "name: p,", "name: \"evil\\e[31m\\a\","+"", 1)
	exempt := strings.Replace(gpuPod, "namespace: ns", "namespace: kube-system", 1)
	longNote := strings.Replace(gpuPod, "nvidia.com/gpu: 1", "nvidia.com/gpu: 64", 1)
	tests := map[string]struct {
		stdin string
		args  []string
		want  []string
		not   []string
	}{
		"GPUs held, not a node's": {onePodOnBigNode, nil, []string{"1×T4"}, []string{"4×T4"}},
		"exempt namespace":        {exempt, nil, []string{"Pod kube-system/p", "exempt"}, nil},
		"totals":                  {gpuPod + "---\n" + strings.Replace(gpuPod, "name: p,", "name: q,", 1), nil, []string{"TOTAL (2 placed)", "per month of 730 h"}, nil},
		"default duration named":  {gpuPod, nil, []string{"est. cost for 1 h: no quartermaster.io/expected-duration"}, nil},
		"control characters":      {escName, nil, []string{`evil\x1b[31m\a`}, []string{"\x1b", "\a"}},
		"note cut":                {longNote, nil, []string{"…"}, nil},
		"note whole with --wide":  {longNote, []string{"--wide"}, []string{"no allowed node shape"}, []string{"…"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runQM(t, tc.stdin, append([]string{"eval", "-f", "-"}, tc.args...)...)
			if code == exitInput {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("table lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("table has %q:\n%s", n, out)
				}
			}
		})
	}

	code, out, errOut := runQM(t, escName+"---\n"+gpuPod, "eval", "-f", "-", "-o", "csv")
	if code != exitOK {
		t.Fatalf("csv: exit %d %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 || len(rows[0]) != len(evalColumns) || rows[0][0] != "OBJECT" || rows[1][0] != `Pod ns/evil\x1b[31m\a` || rows[2][1] != "allowed" {
		t.Fatalf("csv rows %q: %v", rows, err)
	}
}

// TestEvalDirectoryConsumesQuota: in one run, each placement holds its GPUs
// for the ones after it (the seed's worked example: 40 of 100 GPU-hours on
// the cheaper cloud, the rest on the other, $138), and qm says so.
func TestEvalDirectoryConsumesQuota(t *testing.T) {
	code, out, errOut := runQM(t, "", "eval", "-f", "../../examples/optimizer/workloads.yaml", "--catalog", "../../examples/optimizer/catalog.csv",
		"--quota", "../../examples/optimizer/quotas.yaml", "--no-policies")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := strings.Count(out, "aws    us-east-1"); got != 4 {
		t.Errorf("%d shards on the cheaper cloud's 40-GPU quota, want 4:\n%s", got, out)
	}
	if !strings.Contains(out, "138.00  138.00") {
		t.Errorf("total is not $138:\n%s", out)
	}
	if !strings.Contains(errOut, "holds its GPUs against the quota for the workloads after it") {
		t.Errorf("qm does not say placements consume quota: %q", errOut)
	}
}

// TestEvalWarnsAboutOldCatalog: prices older than 90 days are called out.
func TestEvalWarnsAboutOldCatalog(t *testing.T) {
	raw, err := os.ReadFile("../../examples/optimizer/catalog.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "# as-of:") {
			lines[i] = "# as-of: 2020-01-01"
		}
	}
	old := filepath.Join(t.TempDir(), "old.csv")
	if err := os.WriteFile(old, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, errOut := runQM(t, gpuPod, "eval", "-f", "-", "--catalog", old, "--no-policies")
	if !strings.Contains(errOut, "warning: the catalog's prices are as of 2020-01-01") {
		t.Errorf("no warning about a 2020 catalog: %q", errOut)
	}
	lines = strings.Split(string(raw), "\n")
	fresh := filepath.Join(t.TempDir(), "fresh.csv")
	for i, l := range lines {
		if strings.HasPrefix(l, "# as-of:") {
			lines[i] = "# as-of: " + time.Now().AddDate(0, 0, -10).Format(time.DateOnly)
		}
	}
	if err := os.WriteFile(fresh, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, errOut = runQM(t, gpuPod, "eval", "-f", "-", "--catalog", fresh, "--no-policies"); strings.Contains(errOut, "warning: the catalog") {
		t.Errorf("warning about a 10-day-old catalog: %q", errOut)
	}
}
