package admission

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// TestPatchFollowsLabelProfile checks, per profile and capacity type, the
// keys pinned by required node affinity, the capacity-type node selector
// and the spot toleration the patch writes.
func TestPatchFollowsLabelProfile(t *testing.T) {
	tests := map[string]struct {
		profile      string
		capacity     string
		wantAffinity []string
		wantSelector map[string]any
		wantTols     []any
	}{
		"quartermaster on-demand keeps today's patch": {
			profile: "quartermaster", capacity: "on-demand",
			wantAffinity: []string{"quartermaster.io/cloud", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
		},
		"quartermaster spot": {
			profile: "quartermaster", capacity: "spot",
			wantAffinity: []string{"quartermaster.io/cloud", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"quartermaster.io/capacity-type": "spot"},
			wantTols:     []any{map[string]any{"key": "quartermaster.io/spot", "operator": "Exists", "effect": "NoSchedule"}},
		},
		"karpenter on-demand pins the capacity type, no cloud": {
			profile: "karpenter", capacity: "on-demand",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"karpenter.sh/capacity-type": "on-demand"},
		},
		"karpenter spot has no taint to tolerate": {
			profile: "karpenter", capacity: "spot",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"karpenter.sh/capacity-type": "spot"},
		},
		"eks on-demand": {
			profile: "eks", capacity: "on-demand",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"eks.amazonaws.com/capacityType": "ON_DEMAND"},
		},
		"eks spot": {
			profile: "eks", capacity: "spot",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"eks.amazonaws.com/capacityType": "SPOT"},
		},
		"gke on-demand relies on the spot taint": {
			profile: "gke", capacity: "on-demand",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
		},
		"gke spot": {
			profile: "gke", capacity: "spot",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"cloud.google.com/gke-spot": "true"},
			wantTols:     []any{map[string]any{"key": "cloud.google.com/gke-spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}},
		},
		"aks on-demand relies on the spot taint": {
			profile: "aks", capacity: "on-demand",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
		},
		"aks spot": {
			profile: "aks", capacity: "spot",
			wantAffinity: []string{"topology.kubernetes.io/region", "node.kubernetes.io/instance-type"},
			wantSelector: map[string]any{"kubernetes.azure.com/scalesetpriority": "spot"},
			wantTols:     []any{map[string]any{"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			keys, err := workload.Profile(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			x, err := workload.New(workload.Options{Labels: keys})
			if err != nil {
				t.Fatal(err)
			}
			obj := gpuPod()
			w, err := x.Extract(obj, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := &Decision{Placement: placement.Placement{Cloud: "aws", Region: "us-east-1", InstanceType: "g5.xlarge", CapacityType: costing.CapacityType(tc.capacity)}}
			p := applyPatch(t, obj, buildPatch(obj, w, d, x.Labels(), "{}", func(string) bool { return false }))
			spec := pointerGet(p, "/spec").(map[string]any)
			var keysGot []string
			terms, _ := pointerGet(spec, "/"+nodeAffinityPath).([]any)
			for _, e := range terms[0].(map[string]any)["matchExpressions"].([]any) {
				keysGot = append(keysGot, e.(map[string]any)["key"].(string))
			}
			if !reflect.DeepEqual(keysGot, tc.wantAffinity) {
				t.Errorf("affinity keys = %v, want %v", keysGot, tc.wantAffinity)
			}
			sel, _ := spec["nodeSelector"].(map[string]any)
			if len(sel) != 0 || len(tc.wantSelector) != 0 {
				if !reflect.DeepEqual(sel, tc.wantSelector) {
					t.Errorf("nodeSelector = %v, want %v", sel, tc.wantSelector)
				}
			}
			tols, _ := spec["tolerations"].([]any)
			if !reflect.DeepEqual(tols, tc.wantTols) {
				t.Errorf("tolerations = %v, want %v", tols, tc.wantTols)
			}
			// A second pass over the patched object must change nothing
			// (reinvocation): the pins it wrote are recognised as its own.
			w2, err := x.Extract(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ops := buildPatch(p, w2, d, x.Labels(), "{}", func(string) bool { return false }); len(ops) > 1 {
				t.Errorf("second pass patches again: %v", ops)
			}
			// And the fingerprint takes the profile's own pins away: the
			// same before and after the patch (update.go).
			if before, after := fingerprint(obj, w, d, x.Labels()), fingerprint(p, w2, d, x.Labels()); before != after {
				t.Errorf("fingerprint changes with the patch under this profile: %s → %s", before, after)
			}
		})
	}
}

// TestPinReadsProfileCapacityValues checks that a workload's own capacity
// pin in the profile's values (SPOT on EKS) reads as placement's "spot".
func TestPinReadsProfileCapacityValues(t *testing.T) {
	keys, err := workload.Profile("eks")
	if err != nil {
		t.Fatal(err)
	}
	x, err := workload.New(workload.Options{Labels: keys})
	if err != nil {
		t.Fatal(err)
	}
	obj := gpuPod()
	obj["spec"].(map[string]any)["nodeSelector"] = map[string]any{"eks.amazonaws.com/capacityType": "SPOT"}
	w, err := x.Extract(obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Allows(&workload.Target{Cloud: "aws", Region: "r", InstanceType: "i", CapacityType: "spot"}) ||
		w.Allows(&workload.Target{Cloud: "aws", Region: "r", InstanceType: "i", CapacityType: "on-demand"}) {
		t.Errorf("pin = %+v: want spot only", w.PodSets[0].Pin)
	}
}

func gpuPod() map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "namespace": "ml", "annotations": map[string]any{"quartermaster.io/interruptible": "true"}},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c",
			"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": "1"}}}}},
	}
}

// onlyInstance provisions one instance type.
type onlyInstance string

func (p onlyInstance) Provisionable(o *costing.Offer, _ costing.CapacityType) bool {
	return o.InstanceType == string(p)
}

// TestDecisionNamesSkippedOffer checks that an offer cheaper than the choice
// that the cluster cannot provide is named in the decision, and that a
// workload nothing provisionable fits is denied naming the filter.
func TestDecisionNamesSkippedOffer(t *testing.T) {
	base := testEvaluator(t, nil)
	tests := map[string]struct {
		prov        onlyInstance
		wantIT      string
		wantSkipped string
		wantDenied  string
	}{
		"cheaper L4 offer skipped": {prov: "g6.xlarge", wantIT: "g6.xlarge", wantSkipped: "g2-standard-4"},
		"cheapest provisionable":   {prov: "g2-standard-4", wantIT: "g2-standard-4"},
		"nothing provisionable":    {prov: "p5.48xlarge", wantDenied: "provisionable filter"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev, err := NewEvaluator(Deps{Extractor: base.extractor, Placer: base.Placer(), Provisioner: tc.prov})
			if err != nil {
				t.Fatal(err)
			}
			obj := gpuPod()
			obj["metadata"].(map[string]any)["annotations"] = map[string]any{"quartermaster.io/gpu-models": "L4"}
			out, err := ev.Evaluate(context.Background(), &Input{Object: obj})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantDenied != "" {
				if out.Allowed || !out.HasCode(CodeNoFeasiblePlacement) || !strings.Contains(out.Violations[0].Msg, tc.wantDenied) {
					t.Fatalf("outcome = %+v, want no-feasible-placement naming %q", out, tc.wantDenied)
				}
				return
			}
			if out.Decision == nil || out.Decision.InstanceType != tc.wantIT {
				t.Fatalf("decision = %+v, want %s", out.Decision, tc.wantIT)
			}
			raw, _ := json.Marshal(out.Decision)
			var d map[string]any
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			skipped, _ := d["skipped"].(map[string]any)
			if tc.wantSkipped == "" {
				if skipped != nil {
					t.Errorf("skipped = %v, want none", skipped)
				}
				return
			}
			if skipped["instanceType"] != tc.wantSkipped || !strings.Contains(skipped["reason"].(string), "not provisionable") {
				t.Errorf("skipped = %v, want %s not provisionable", skipped, tc.wantSkipped)
			}
		})
	}
}
