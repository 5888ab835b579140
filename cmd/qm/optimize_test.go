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

func TestOptimizeCommand(t *testing.T) {
	dir := t.TempDir()
	lp := filepath.Join(dir, "model.lp")
	ex := "../../examples/optimizer/"
	tests := map[string]struct {
		args     []string
		code     int
		out, err string
	}{
		"worked example": {
			args: []string{"optimize", "-f", ex + "workloads.yaml", "--catalog", ex + "catalog.csv", "--quota", ex + "quotas.yaml", "-o", "json", "--export-lp", lp},
			code: 0, out: `"totalCost": 138`,
		},
		"quota too small for all": {
			args: []string{"optimize", "-f", ex + "workloads.yaml", "--catalog", ex + "catalog.csv", "--quota", ex + "quotas.yaml", "--restrict", "cloud=aws"},
			code: 3, err: "cannot place Job research/eval-shard-",
		},
		"bad output": {args: []string{"optimize", "-f", ex, "-o", "yaml"}, code: 1, err: `output "yaml"`},
		"bad location": {
			args: []string{"optimize", "-f", ex, "--dataset-location", "s3://x=mars/1"}, code: 1, err: "--dataset-location",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
		})
	}
	var res struct {
		Optimal     bool
		Gap         float64
		Assignments []struct{ Cloud string }
	}
	var out bytes.Buffer
	run(context.Background(), tests["worked example"].args, nil, &out, &out)
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || !res.Optimal || res.Gap != 0 || len(res.Assignments) != 10 {
		t.Fatalf("want 10 optimal assignments: %v %s", err, out.String())
	}
	model, err := os.ReadFile(lp)
	if err != nil || !bytes.Contains(model, []byte("quota_0:")) || !bytes.Contains(model, []byte("Binary")) {
		t.Fatalf("exported LP model missing or incomplete: %v", err)
	}
}

func TestSizeCommand(t *testing.T) {
	tests := map[string]struct {
		args     []string
		code     int
		out, err string
	}{
		"sizes and front": {args: []string{"size", "--rate", "40", "--service-time", "120ms@A100-80GB", "--slo", "p99=1s", "-o", "json"}, code: 0, out: `"pareto"`},
		"unstable fixed":  {args: []string{"size", "--rate", "40", "--service-time", "120ms", "--slo", "p99=1s", "--replicas", "4"}, code: 1, err: "grows without bound"},
		"bad slo":         {args: []string{"size", "--rate", "40", "--service-time", "120ms", "--slo", "99=1s"}, code: 1, err: "--slo"},
		"bad model":       {args: []string{"size", "--rate", "4", "--service-time", "1ms@Z9", "--slo", "p99=1s"}, code: 1, err: "relative speed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
		})
	}
}

// TestOptimizeAppliesPolicies: batch placement judges every workload by the
// admission policies first (issue 17 item 1): the examples' privileged debug
// Pod is left out with its reasons (exit 2, the others still placed), and a
// search-team workload that asks for H100 or L4 is kept to the models its
// team may use, as qm eval keeps it.
func TestOptimizeAppliesPolicies(t *testing.T) {
	code, out, errOut := runQM(t, "", "optimize", "-f", "../../examples/workloads/01-pytorchjob-llm-pretrain.yaml",
		"-f", "../../examples/workloads/13-privileged-debug-pod.yaml", "--cluster-state", "../../examples/cluster-state.yaml",
		"--inventory", "../../examples/inventory.yaml")
	if code != exitDenied || !strings.Contains(errOut, "Pod research/gpu-debug left out, denied by policy: access-privileged") ||
		strings.Contains(out, "gpu-debug") || !strings.Contains(out, "PyTorchJob research/llm-pretrain-7b") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// The search team may not use H100: both commands deny it with the
	// access policy's reason; without policies it goes on H100.
	search := `apiVersion: batch/v1
kind: Job
metadata: {name: ranker, namespace: search, annotations: {quartermaster.io/team: search, quartermaster.io/gpu-models: H100}}
spec:
  template:
    spec:
      serviceAccountName: ranker
      containers: [{name: c, image: ghcr.io/example/ranker:1, resources: {limits: {nvidia.com/gpu: 1}}}]
`
	for _, cmd := range []string{"eval", "optimize"} {
		code, out, errOut := runQM(t, search, cmd, "-f", "-")
		if code != exitDenied || !strings.Contains(out+errOut, "access-gpu-model: team search may not use GPU model H100") || strings.Contains(out, "p5.48xlarge") {
			t.Errorf("qm %s: exit %d, want the search team denied H100:\n%s%s", cmd, code, out, errOut)
		}
	}
	if code, out, errOut := runQM(t, search, "optimize", "-f", "-", "--no-policies"); code != exitOK || !strings.Contains(out, "H100") && !strings.Contains(out, "p5") {
		t.Errorf("without policies the Job goes on H100: exit %d\n%s%s", code, out, errOut)
	}
}

// TestOptimizeNothingPlaceable: when no assignment places every workload,
// the table lists them with their reasons instead of an empty header.
func TestOptimizeNothingPlaceable(t *testing.T) {
	giant := strings.Replace(gpuPod, "nvidia.com/gpu: 1", "nvidia.com/gpu: 16", 1)
	code, out, _ := runQM(t, giant, "optimize", "-f", "-")
	if code != exitNoPlacement || strings.Contains(out, "WORKLOAD") || !strings.Contains(out, "no assignment places every workload:\n  Pod ns/p: ") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
