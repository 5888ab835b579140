package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runQM runs qm in process, as main does, with stdin and captured output:
// the exit code is part of the contract (4.5), so every test checks it.
func runQM(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes a fixture into the test's own directory, so that tests
// running in parallel never share an input.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gpuPod passes the default policy library: known team, own service
// account, an allowed registry.
const gpuPod = `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns, annotations: {quartermaster.io/team: research}}
spec:
  serviceAccountName: trainer
  containers:
    - name: a
      image: ghcr.io/example/train:1
      resources: {limits: {nvidia.com/gpu: 1}}
`

// TestEvalExitCodes: each outcome has its exit code (0 allowed, 1 input,
// 2 denied, 3 no placement), and an input error names the flag and file at
// fault, so that a CI log says what to fix.
func TestEvalExitCodes(t *testing.T) {
	tests := map[string]struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		"allowed":           {gpuPod, []string{"eval", "-f", "-"}, exitOK, "allowed"},
		"non-gpu skipped":   {"apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec: {containers: [{name: a, image: nginx}]}\n", []string{"eval", "-f", "-"}, exitOK, "no GPU requested"},
		"denied annotation": {strings.Replace(gpuPod, "quartermaster.io/team: research}", "quartermaster.io/team: research, quartermaster.io/interruptible: sometimes}", 1), []string{"eval", "-f", "-"}, exitDenied, "invalid-annotation"},
		"no placement":      {strings.Replace(gpuPod, "nvidia.com/gpu: 1", "nvidia.com/gpu: 16", 1), []string{"eval", "-f", "-"}, exitNoPlacement, "no-placement"},
		"restricted":        {gpuPod, []string{"eval", "-f", "-", "--restrict", "jurisdiction=jp", "-o", "json"}, exitOK, `"jurisdiction": "jp"`},
		"bad restrict":      {gpuPod, []string{"eval", "-f", "-", "--restrict", "colour=red"}, exitInput, `field "colour"`},
		"bad capacity type": {gpuPod, []string{"eval", "-f", "-", "--restrict", "capacityType=cheap"}, exitInput, `capacity type "cheap"`},
		"bad output":        {gpuPod, []string{"eval", "-f", "-", "-o", "xml"}, exitInput, `output "xml"`},
		"bad yaml":          {"kind: [", []string{"eval", "-f", "-"}, exitInput, "stdin: document 1"},
		"missing file":      {"", []string{"eval", "-f", "/nonexistent.yaml"}, exitInput, "no such file"},
		"missing -f":        {"", []string{"eval"}, exitInput, `"filename" not set`},
		"missing catalog":   {gpuPod, []string{"eval", "-f", "-", "--catalog", "/nonexistent.csv"}, exitInput, "--catalog: loading catalog: opening /nonexistent.csv"},
		"missing quota":     {gpuPod, []string{"eval", "-f", "-", "--quota", "/nonexistent.yaml"}, exitInput, "--quota: loading quotas: opening /nonexistent.yaml"},
		"missing usage":     {gpuPod, []string{"eval", "-f", "-", "--usage", "/nonexistent.yaml"}, exitInput, "--usage: opening /nonexistent.yaml"},
		"bad label key":     {gpuPod, []string{"eval", "-f", "-", "--label-key", "colour=red"}, exitInput, `--label-profile/--label-key: label key "colour"`},
		"unknown command":   {"", []string{"frobnicate"}, exitInput, "unknown command"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runQM(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.out) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.out, out, errOut)
			}
		})
	}
}

// TestEvalDeniedBeatsNoPlacement: over many objects the worst outcome sets
// the exit code, and a policy denial is worse than a full cluster (it needs
// a change to the manifest, not to wait).
func TestEvalDeniedBeatsNoPlacement(t *testing.T) {
	in := strings.Replace(gpuPod, "nvidia.com/gpu: 1", "nvidia.com/gpu: 16", 1) + "---\n" +
		strings.Replace(gpuPod, "quartermaster.io/team: research}", "quartermaster.io/team: BAD}", 1)
	if code, out, _ := runQM(t, in, "eval", "-f", "-"); code != exitDenied {
		t.Errorf("exit %d, want %d (a denial outranks no placement)\n%s", code, exitDenied, out)
	}
}

// TestEvalJSONShape pins the JSON fields scripts read (source, object,
// allowed, placement, patch), and that --quota takes effect.
func TestEvalJSONShape(t *testing.T) {
	quota := writeFile(t, "q.yaml", "quotas:\n- {cloud: gcp, region: us-central1, gpuModel: L4, gpus: 0}\n")
	code, out, errOut := runQM(t, gpuPod, "eval", "-f", "-", "-o", "json", "--quota", quota)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var results []struct {
		Source    string           `json:"source"`
		Object    string           `json:"object"`
		Allowed   bool             `json:"allowed"`
		Placement map[string]any   `json:"placement"`
		Patch     []map[string]any `json:"patch"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	r := results[0]
	if r.Source != "stdin#1" || r.Object != "Pod ns/p" || !r.Allowed || len(r.Patch) == 0 {
		t.Errorf("result = %+v", r)
	}
	if r.Placement["cloud"] == "gcp" && r.Placement["region"] == "us-central1" && r.Placement["gpuModel"] == "L4" {
		t.Errorf("a zero quota must keep L4 out of gcp/us-central1: %v", r.Placement)
	}
}

// TestEvalYAMLAndDirectories: a directory is read recursively, YAML and
// JSON alike, and files of other extensions are left alone.
func TestEvalYAMLAndDirectories(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"a.yaml": gpuPod, "b.json": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`, "ignored.txt": "not yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runQM(t, "", "eval", "-f", dir, "-o", "yaml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "object: Pod ns/p") || !strings.Contains(out, "object: ConfigMap c") || strings.Contains(out, "ignored") {
		t.Errorf("yaml output:\n%s", out)
	}
}

// TestDemoExamples runs qm eval over the shipped examples, as make demo does,
// and checks the outcome of each.
func TestDemoExamples(t *testing.T) {
	code, out, errOut := runQM(t, "", "eval", "-f", "../../examples/workloads/", "--quota", "../../examples/quotas.yaml",
		"--usage", "../../examples/usage.yaml", "--cluster-state", "../../examples/cluster-state.yaml",
		"--inventory", "../../examples/inventory.yaml", "-o", "json")
	if code != exitDenied {
		t.Fatalf("exit %d, want %d (some examples are denied by policy)\n%s", code, exitDenied, errOut)
	}
	var results []struct {
		Object      string         `json:"object"`
		GPU         bool           `json:"gpu"`
		Allowed     bool           `json:"allowed"`
		NoPlacement bool           `json:"noPlacement"`
		Placement   map[string]any `json:"placement"`
		Violations  []struct {
			Code string `json:"code"`
		} `json:"violations"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, r := range results {
		byName[r.Object] = i
	}
	check := func(obj string, f func(r map[string]any) bool, what string) {
		t.Helper()
		i, ok := byName[obj]
		if !ok {
			t.Errorf("no result for %s", obj)
			return
		}
		if !f(results[i].Placement) {
			t.Errorf("%s: %s; placement %v", obj, what, results[i].Placement)
		}
	}
	check("PyTorchJob research/llm-pretrain-7b", func(p map[string]any) bool { return p["nodes"] == 4.0 && p["gpuModel"] == "H100" }, "want 4 H100 nodes")
	check("Job vision/vision-resnet-sweep", func(p map[string]any) bool { return p["capacityType"] == "spot" }, "interruptible job should run on spot")
	check("Job vision/feature-extract-mig", func(p map[string]any) bool { return p["mig"] != nil }, "MIG job must say how slices were counted")
	check("StatefulSet search/vector-db-gpu", func(p map[string]any) bool { return p["cloud"] == "gcp" && p["region"] == "europe-west4" }, "pinned workload keeps its pin")
	if r := results[byName["Deployment shop/web-frontend"]]; r.GPU || !r.Allowed {
		t.Errorf("non-GPU deployment: %+v", r)
	}
	if r := results[byName["Pod research/giant-single-node"]]; !r.NoPlacement {
		t.Errorf("giant pod must have no feasible placement: %+v", r)
	}
	check("Job ledger/ledger-fraud-model", func(p map[string]any) bool { return p["jurisdiction"] == "eu" }, "restricted EU data must be placed in the EU")
	for obj, code := range map[string]string{
		"Job claims/claims-embeddings":   "encryption-customer-key-required",
		"Job claims/claims-archive-scan": "residency-dataset-outside",
		"Pod research/gpu-debug":         "access-host-path",
		"Job vision/vision-long-sweep":   "budget-estimated-cost",
	} {
		r := results[byName[obj]]
		if r.Allowed || len(r.Violations) == 0 || r.Violations[0].Code != code {
			t.Errorf("%s: want a denial %s, got %+v", obj, code, r)
		}
	}
}

// TestCatalogCommands: list filters the catalog, and import writes a
// catalog that eval then reads with --catalog (the round trip a FinOps user
// makes with a SkyPilot file).
func TestCatalogCommands(t *testing.T) {
	code, out, _ := runQM(t, "", "catalog", "list", "--model", "H100", "--cloud", "gcp")
	if code != exitOK || !strings.Contains(out, "a3-highgpu-8g") || strings.Contains(out, "p5.48xlarge") {
		t.Errorf("catalog list: exit %d\n%s", code, out)
	}
	sky := writeFile(t, "vms.csv", "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone\n"+
		"g6.xlarge,L4,1.0,4.0,16.0,,0.8048,0.32,us-east-1,us-east-1a\n")
	outFile := filepath.Join(t.TempDir(), "out.csv")
	code, _, errOut := runQM(t, "", "catalog", "import", "--format", "skypilot", "--cloud", "aws", "--as-of", "2026-11-01", sky, "-o", outFile)
	if code != exitOK || !strings.Contains(errOut, `"offers":1`) {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# as-of: 2026-11-01\n") || !strings.Contains(string(b), "aws,us-east-1,,g6.xlarge,L4,1,24,4,16,0.8048,0.32,") {
		t.Errorf("imported catalog:\n%s", b)
	}
	// The imported file is a valid catalog for eval.
	code, out, errOut = runQM(t, gpuPod, "eval", "-f", "-", "--catalog", outFile)
	if code != exitOK || !strings.Contains(out, "g6.xlarge") {
		t.Errorf("eval with imported catalog: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runQM(t, "", "catalog", "import", "--format", "skypilot", "--cloud", "ibm", sky); code != exitInput || !strings.Contains(errOut, `cloud "ibm"`) {
		t.Errorf("bad cloud: exit %d %s", code, errOut)
	}
}

// TestEvalWorkloadRules: a kind nobody described is allowed untouched with a
// warning that says how to describe it; with --workload-rules it is placed
// and judged like a built-in kind.
func TestEvalWorkloadRules(t *testing.T) {
	trainer := `apiVersion: example.com/v1
kind: Trainer
metadata: {name: t, namespace: ns, annotations: {quartermaster.io/team: research}}
spec:
  workers:
    - replicas: 2
      template:
        spec:
          serviceAccountName: trainer
          containers:
            - {name: a, image: ghcr.io/example/train:1, resources: {limits: {nvidia.com/gpu: 1}}}
`
	code, out, errOut := runQM(t, trainer, "eval", "-f", "-", "-o", "json")
	if code != exitOK || !strings.Contains(out, "no workload rule for") || !strings.Contains(out, "spec.workers[0].template.spec") ||
		strings.Contains(out, `"placement"`) {
		t.Fatalf("undescribed kind: exit %d\n%s%s", code, out, errOut)
	}
	rules := writeFile(t, "rules.yaml", `rules:
  - {group: example.com, kind: Trainer, class: training, podSets: [{each: spec.workers.*, template: template, replicas: replicas}]}
`)
	code, out, errOut = runQM(t, trainer, "eval", "-f", "-", "-o", "json", "--workload-rules", rules)
	if code != exitOK || !strings.Contains(out, `"placement"`) || !strings.Contains(out, "/spec/workers/0/template/spec/affinity") {
		t.Fatalf("described kind: exit %d\n%s%s", code, out, errOut)
	}
	bad := writeFile(t, "bad.yaml", "rules: [{group: example.com, kind: Trainer, podSet: []}]\n")
	if code, _, errOut := runQM(t, trainer, "eval", "-f", "-", "--workload-rules", bad); code != exitInput || !strings.Contains(errOut, `unknown field "podSet"`) {
		t.Fatalf("bad rules file: exit %d %s", code, errOut)
	}
}
