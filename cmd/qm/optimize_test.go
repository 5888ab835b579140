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
