package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/engine"
)

// karpenterState is a cluster-state file of a Karpenter cluster whose only
// GPU NodePool launches two L4 instance types on demand.
const karpenterState = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu}
spec:
  template:
    spec:
      requirements:
        - {key: node.kubernetes.io/instance-type, operator: In, values: [g6.xlarge, g6.2xlarge]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
`

func TestLabelAndFilterFlags(t *testing.T) {
	certs := t.TempDir()
	tests := map[string]struct {
		args    []string
		env     map[string]string
		want    func(*Config) bool
		wantErr string
	}{
		"defaults: quartermaster profile, filter auto": {
			args: []string{"--cert-dir", certs},
			want: func(c *Config) bool {
				k, err := c.Engine.Nodes.Labels()
				return err == nil && k.Cloud == "quartermaster.io/cloud" && c.Engine.Nodes.ProvisionableFilter == "auto"
			},
		},
		"karpenter on azure with a region key override": {
			args: []string{"--cert-dir", certs, "--label-profile", "karpenter", "--label-key", "clusterCloud=azure", "--label-key", "region=example.com/region"},
			want: func(c *Config) bool {
				k, err := c.Engine.Nodes.Labels()
				return err == nil && k.Cloud == "" && k.ClusterCloud == "azure" && k.Region == "example.com/region" && k.CapacityType == "karpenter.sh/capacity-type"
			},
		},
		"profile and filter from the environment": {
			args: []string{"--cert-dir", certs},
			env:  map[string]string{"QUARTERMASTER_LABEL_PROFILE": "gke", "QUARTERMASTER_PROVISIONABLE_FILTER": "off"},
			want: func(c *Config) bool {
				k, err := c.Engine.Nodes.Labels()
				return err == nil && k.ClusterCloud == "gcp" && c.Engine.Nodes.ProvisionableFilter == "off"
			},
		},
		"bad profile, key and filter": {
			args: []string{"--cert-dir", certs, "--label-profile", "openshift", "--provisionable-filter", "maybe"},
			wantErr: "webhook: --label-profile/--label-key: label profile \"openshift\": want one of aks, eks, gke, karpenter, quartermaster\n" +
				"--provisionable-filter: provisionable filter \"maybe\": want auto, on or off\n",
		},
		"bad key override": {
			args:    []string{"--cert-dir", certs, "--label-key", "zone=x"},
			wantErr: "webhook: --label-profile/--label-key: label key \"zone\": want one of capacityType, cloud, clusterCloud, instanceType, onDemandValue, region, spotTaint, spotTaintValue, spotValue\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var got *Config
			var stderr bytes.Buffer
			code := execute(context.Background(), tc.args, &stderr, func(_ context.Context, c *Config, _ io.Writer) error {
				got = c
				return nil
			})
			if tc.wantErr != "" {
				if code != 1 || stderr.String() != tc.wantErr {
					t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr.String(), tc.wantErr)
				}
				return
			}
			if code != 0 || got == nil || !tc.want(got) {
				t.Fatalf("exit %d, config %+v, stderr %s", code, got, stderr.String())
			}
		})
	}
}

// TestStandaloneKarpenterProfile wires the standalone webhook's state and
// evaluator from flags through the engine, as run does: with the karpenter profile and a
// NodePool of two instance types, an L4 workload lands on one of them, the
// cheaper GCP L4 offer is skipped with the reason in the decision, and the
// patch pins Karpenter's labels; with the filter off, the cheapest offer in
// the catalog wins again.
func TestStandaloneKarpenterProfile(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.yaml")
	if err := os.WriteFile(state, []byte(karpenterState), 0o600); err != nil {
		t.Fatal(err)
	}
	job := map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "t", "namespace": "ml",
		"annotations": map[string]any{"quartermaster.io/gpu-models": "L4"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c",
			"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": "1"}}}}}}}}
	tests := map[string]struct {
		filter      string
		wantCloud   string
		wantIT      []string
		wantSkipped bool
	}{
		"filter auto: the NodePool decides":  {filter: "auto", wantCloud: "aws", wantIT: []string{"g6.xlarge", "g6.2xlarge"}, wantSkipped: true},
		"filter off: the catalog's cheapest": {filter: "off", wantCloud: "gcp"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := NewConfig()
			cfg.Standalone, cfg.Engine.Facts.ClusterState, cfg.Engine.Nodes.LabelProfile, cfg.Engine.Nodes.ProvisionableFilter = true, state, "karpenter", tc.filter
			// No policies: the test is about placement, and the job names
			// no image the access rules would check.
			cfg.Engine.Policies.None = true
			eng, err := engine.New(context.Background(), cfg.Engine, engine.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			ev := eng.Evaluator()
			out, err := ev.Evaluate(context.Background(), &admission.Input{ID: "x", Object: job})
			if err != nil {
				t.Fatal(err)
			}
			if !out.Allowed || out.Decision == nil {
				t.Fatalf("outcome %+v", out)
			}
			d := out.Decision
			if d.Cloud != tc.wantCloud || (tc.wantIT != nil && !contains(tc.wantIT, d.InstanceType)) {
				t.Fatalf("placed on %s %s %s, want %s %v", d.Cloud, d.Region, d.InstanceType, tc.wantCloud, tc.wantIT)
			}
			if (d.Skipped != nil) != tc.wantSkipped {
				t.Errorf("skipped = %+v, want %v", d.Skipped, tc.wantSkipped)
			}
			if tc.wantSkipped && (d.Skipped.Cloud != "gcp" || !strings.Contains(d.Skipped.Reason, "not provisionable")) {
				t.Errorf("skipped = %+v", d.Skipped)
			}
			patch, err := json.Marshal(out.Patch)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(patch), "quartermaster.io/cloud") || !strings.Contains(string(patch), "karpenter.sh/capacity-type") {
				t.Errorf("patch does not follow the karpenter profile: %s", patch)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
