package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// karpenterState holds a Karpenter NodePool that launches two L4 instance
// types on demand, and nothing else: no GPU node is running.
const karpenterState = `apiVersion: v1
kind: Namespace
metadata: {name: ns}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu}
spec:
  template:
    spec:
      requirements:
        - {key: node.kubernetes.io/instance-type, operator: In, values: [g6.xlarge, g6.2xlarge]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
`

// TestEvalKarpenterNodePool is the acceptance case offline: with
// the karpenter profile and a NodePool restricted to two instance types,
// qm eval places only on those, names the cheaper offer it skipped and why,
// and pins Karpenter's labels.
func TestEvalKarpenterNodePool(t *testing.T) {
	state := writeFile(t, "state.yaml", karpenterState)
	code, out, errOut := runQM(t, gpuPod, "eval", "-f", "-", "--cluster-state", state, "--label-profile", "karpenter", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var res []struct {
		Placement struct {
			Cloud, Region, InstanceType, CapacityType string
			PricePerHour                              float64
			Alternatives                              []struct{ InstanceType string }
			Skipped                                   *struct {
				Cloud, InstanceType, Reason string
				PricePerHour                float64
			}
		}
		Patch []struct {
			Path  string
			Value any
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	p := res[0].Placement
	two := map[string]bool{"g6.xlarge": true, "g6.2xlarge": true}
	if p.Cloud != "aws" || !two[p.InstanceType] || p.CapacityType != "on-demand" {
		t.Errorf("placed on %s %s %s %s, want one of the NodePool's two instance types on demand", p.Cloud, p.Region, p.InstanceType, p.CapacityType)
	}
	for _, a := range p.Alternatives {
		if !two[a.InstanceType] {
			t.Errorf("alternative %s is outside the NodePool", a.InstanceType)
		}
	}
	if p.Skipped == nil || p.Skipped.PricePerHour >= p.PricePerHour || !strings.Contains(p.Skipped.Reason, "not provisionable") {
		t.Errorf("skipped = %+v, want a cheaper offer named as not provisionable", p.Skipped)
	}
	patch, err := json.Marshal(res[0].Patch)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(patch), `"karpenter.sh/capacity-type":"on-demand"`) || strings.Contains(string(patch), "quartermaster.io/") {
		t.Errorf("patch does not follow the karpenter profile: %s", patch)
	}

	// The table names the skipped offer too.
	code, out, _ = runQM(t, gpuPod, "eval", "-f", "-", "--cluster-state", state, "--label-profile", "karpenter")
	if code != exitOK || !strings.Contains(out, "skipped cheaper") || !strings.Contains(out, "not provisionable") {
		t.Errorf("exit %d, table:\n%s", code, out)
	}
}

// TestEvalProvisionableFilterModes: auto filters only when --cluster-state
// holds Nodes or NodePools (a file of namespaces says nothing of capacity),
// on always filters and off never does.
func TestEvalProvisionableFilterModes(t *testing.T) {
	state := writeFile(t, "state.yaml", karpenterState)
	plain := writeFile(t, "plain.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n")
	spotOnly := writeFile(t, "spot.yaml", strings.Replace(karpenterState, "values: [on-demand]", "values: [spot]", 1))
	tests := map[string]struct {
		args []string
		code int
		want string
	}{
		"off ignores the NodePool: the catalog's cheapest": {
			args: []string{"--cluster-state", state, "--label-profile", "karpenter", "--provisionable-filter", "off"}, code: exitOK, want: `"instanceType": "g4dn.xlarge"`,
		},
		"auto without nodes in the file filters nothing": {
			args: []string{"--cluster-state", plain}, code: exitOK, want: `"instanceType": "g4dn.xlarge"`,
		},
		"on without nodes in the file places nothing": {
			args: []string{"--cluster-state", plain, "--provisionable-filter", "on"}, code: exitNoPlacement, want: "provisionable filter",
		},
		"a spot-only pool cannot take an on-demand workload": {
			args: []string{"--cluster-state", spotOnly, "--label-profile", "karpenter"}, code: exitNoPlacement, want: "no-feasible-placement",
		},
		"bad mode":    {args: []string{"--provisionable-filter", "maybe"}, code: exitInput, want: `provisionable filter "maybe"`},
		"bad profile": {args: []string{"--label-profile", "openshift"}, code: exitInput, want: `label profile "openshift"`},
		"bad key":     {args: []string{"--label-key", "zone=x"}, code: exitInput, want: `label key "zone"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runQM(t, gpuPod, append([]string{"eval", "-f", "-", "-o", "json"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s\n%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// TestCatalogNodesLabelProfile: fake nodes carry the labels and taints of
// the profile asked for, so that a webhook run with the same profile finds
// them provisionable.
func TestCatalogNodesLabelProfile(t *testing.T) {
	tests := map[string]struct {
		args     []string
		code     int
		want     []string
		wantNone []string
	}{
		"default keeps the quartermaster labels": {
			args: []string{"--cloud", "gcp", "--model", "L4", "--capacity-type", "spot"},
			want: []string{"quartermaster.io/cloud: gcp", "quartermaster.io/capacity-type: spot", "key: quartermaster.io/spot"},
		},
		"gke spot nodes": {
			args:     []string{"--cloud", "gcp", "--model", "L4", "--capacity-type", "spot", "--label-profile", "gke"},
			want:     []string{`cloud.google.com/gke-spot: "true"`, "key: cloud.google.com/gke-spot"},
			wantNone: []string{"quartermaster.io/cloud", "quartermaster.io/capacity-type"},
		},
		"karpenter with a key override": {
			args:     []string{"--cloud", "aws", "--model", "L4", "--capacity-type", "on-demand", "--label-profile", "karpenter", "--label-key", "capacityType=example.com/capacity"},
			want:     []string{"example.com/capacity: on-demand"},
			wantNone: []string{"quartermaster.io/cloud", "quartermaster.io/capacity-type", "taints"},
		},
		"bad profile": {args: []string{"--label-profile", "nope"}, code: exitInput, want: []string{`label profile "nope"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runQM(t, "", append([]string{"catalog", "nodes"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
