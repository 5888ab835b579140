package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQMTest(t *testing.T) {
	failing := t.TempDir()
	os.WriteFile(filepath.Join(failing, "p.rego"), []byte("package quartermaster.t\n\ndeny contains {\"code\": \"c\", \"msg\": \"m\"} if input.x\n"), 0o644)
	os.WriteFile(filepath.Join(failing, "p_test.rego"), []byte("package quartermaster.t_test\n\nimport data.quartermaster.t\n\ntest_x if count(t.deny) == 0 with input.x as true\n"), 0o644)
	tests := map[string]struct {
		args []string
		code int
		out  string
	}{
		"library passes with coverage": {[]string{"test", "../../policies/rego", "--coverage-min", "90"}, 0, "coverage 100.00%"},
		"embedded library":             {[]string{"test"}, 0, "embedded policy library"},
		"failing test":                 {[]string{"test", failing}, 1, "FAIL data.quartermaster.t_test.test_x"},
		"missing directory":            {[]string{"test", filepath.Join(failing, "nope")}, 1, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runQM(t, "", tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("exit %d, output %q, stderr %q; want exit %d and %q", code, out, errOut, tc.code, tc.out)
			}
		})
	}
}

// TestEvalExamples is the demo's promise: at least one denial per package,
// and the restricted EU workload placed in the EU.
func TestEvalExamples(t *testing.T) {
	code, out, errOut := runQM(t, "", "eval", "-f", "../../examples/workloads/", "--quota", "../../examples/quotas.yaml",
		"--usage", "../../examples/usage.yaml", "--cluster-state", "../../examples/cluster-state.yaml",
		"--inventory", "../../examples/inventory.yaml", "-o", "json")
	if code != exitDenied {
		t.Fatalf("exit %d, want %d (denied); stderr %s", code, exitDenied, errOut)
	}
	var results []struct {
		Object     string `json:"object"`
		Allowed    bool   `json:"allowed"`
		Violations []struct {
			Code, Msg, Policy string
		} `json:"violations"`
		Placement *struct {
			Jurisdiction string   `json:"jurisdiction"`
			Policies     []string `json:"policies"`
		} `json:"placement"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatal(err)
	}
	denied := map[string]string{}
	var eu bool
	for _, r := range results {
		for _, v := range r.Violations {
			if v.Policy != "" && v.Msg != "" {
				denied[v.Policy] = v.Code
			}
		}
		if r.Object == "Job ledger/ledger-fraud-model" {
			eu = r.Allowed && r.Placement != nil && r.Placement.Jurisdiction == "eu" &&
				strings.Contains(strings.Join(r.Placement.Policies, ","), "quartermaster.residency")
		}
	}
	for _, p := range []string{"quartermaster.encryption", "quartermaster.residency", "quartermaster.access", "quartermaster.budget"} {
		if denied[p] == "" {
			t.Errorf("no denial by %s in the examples (denials: %v)", p, denied)
		}
	}
	if !eu {
		t.Error("the restricted EU workload was not placed in the EU by the residency restriction")
	}
}

func TestEvalPolicyFlags(t *testing.T) {
	tests := map[string]struct {
		args []string
		code int
		err  string
	}{
		"broken bundle":         {[]string{"--policies", t.TempDir()}, exitInput, "no .rego policy files"},
		"both policy flags":     {[]string{"--policies", ".", "--no-policies"}, exitInput, "exclude each other"},
		"missing cluster state": {[]string{"--cluster-state", "nope.yaml"}, exitInput, "nope.yaml"},
		"no policies":           {[]string{"--no-policies"}, exitOK, ""},
		"user and group flags":  {[]string{"--user", "alice", "--group", "ml-platform"}, exitOK, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"eval", "-f", "../../examples/workloads/06-spot-training-job.yaml"}, tc.args...)
			code, _, errOut := runQM(t, "", args...)
			if code != tc.code || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.err)
			}
		})
	}
}

// TestEvalRefusesBundleWithFailingTests: qm eval --policies loads a bundle
// as the webhook does, so one whose own tests fail is refused (exit 1,
// naming the test) instead of deciding.
func TestEvalRefusesBundleWithFailingTests(t *testing.T) {
	failing := t.TempDir()
	os.WriteFile(filepath.Join(failing, "p.rego"), []byte("package quartermaster.t\n\ndeny contains {\"code\": \"c\", \"msg\": \"m\"} if input.x\n"), 0o644)
	os.WriteFile(filepath.Join(failing, "p_test.rego"), []byte("package quartermaster.t_test\n\nimport data.quartermaster.t\n\ntest_x if count(t.deny) == 0 with input.x as true\n"), 0o644)
	code, out, errOut := runQM(t, gpuPod, "eval", "-f", "-", "--policies", failing)
	if code != exitInput || !strings.Contains(errOut, "test_x") || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 naming the failing test", code, out, errOut)
	}
	passing := t.TempDir()
	os.WriteFile(filepath.Join(passing, "p.rego"), []byte("package quartermaster.t\n\ndeny contains {\"code\": \"c\", \"msg\": \"m\"} if input.x\n"), 0o644)
	os.WriteFile(filepath.Join(passing, "p_test.rego"), []byte("package quartermaster.t_test\n\nimport data.quartermaster.t\n\ntest_x if count(t.deny) == 1 with input.x as true\n"), 0o644)
	if code, out, errOut := runQM(t, gpuPod, "eval", "-f", "-", "--policies", passing); code != exitOK {
		t.Fatalf("passing bundle: exit %d %s %s", code, out, errOut)
	}
}

// TestEvalNoObjects: an empty file, an empty directory or empty standard
// input is an input error naming where nothing was found, not "all allowed".
func TestEvalNoObjects(t *testing.T) {
	empty := writeFile(t, "empty.yaml", "")
	comments := writeFile(t, "comments.yaml", "# nothing here\n---\n")
	dir := filepath.Join(t.TempDir(), "my-manifests")
	os.Mkdir(dir, 0o755)
	tests := map[string]struct {
		stdin string
		file  string
		want  string
	}{
		"empty file":           {file: empty, want: "no objects found in " + empty},
		"only comments":        {file: comments, want: "no objects found in " + comments},
		"empty directory":      {file: dir, want: "no objects found in " + dir},
		"empty standard input": {file: "-", want: "no objects found in standard input"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := runQM(t, tc.stdin, "eval", "-f", tc.file)
			if code != exitInput || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, errOut, tc.want)
			}
		})
	}
}
