package admission

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// quartermaster.io/replicas: auto sizes inference workloads with one GPU pod
// set and a replica count field; anything else is denied with a reason,
// never sized by guess.
func TestAutoReplicasNeedsASizableWorkload(t *testing.T) {
	ev := testEvaluator(t, nil)
	annotations := map[string]any{
		"quartermaster.io/gpu-models": "L4", "quartermaster.io/request-rate": "40",
		"quartermaster.io/service-time": "50ms@L4", "quartermaster.io/latency-slo": "p99=250ms",
		"quartermaster.io/replicas": "auto",
	}
	container := map[string]any{"name": "c", "image": "i", "resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": float64(1)}}}
	template := map[string]any{"spec": map[string]any{"containers": []any{container}}}
	tests := map[string]struct {
		obj  map[string]any
		want string
	}{
		"a batch Job": {map[string]any{"apiVersion": "batch/v1", "kind": "Job",
			"metadata": map[string]any{"name": "j", "namespace": "ml", "annotations": annotations},
			"spec":     map[string]any{"parallelism": float64(2), "template": template}}, "auto sizes inference workloads"},
		"a Pod": {map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": "p", "namespace": "ml", "annotations": annotations, "labels": map[string]any{}},
			"spec":     template["spec"]}, "auto"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := ev.Evaluate(context.Background(), &Input{ID: "x", Object: tc.obj})
			if err != nil {
				t.Fatal(err)
			}
			if out.Allowed || !out.HasCode(CodeInvalidAnnotation) || !strings.Contains(out.Violations[0].Msg, tc.want) {
				t.Errorf("outcome %+v, want denied %s mentioning %q", out.Violations, CodeInvalidAnnotation, tc.want)
			}
		})
	}
}

// A sized workload that no offer can serve is a no-feasible-placement with
// each model's reason.
func TestAutoReplicasWithoutAFeasibleOffer(t *testing.T) {
	ev := testEvaluator(t, nil)
	obj := readObjects(t, "testdata/in/deployment-auto-replicas.yaml")[0]
	a := obj["metadata"].(map[string]any)["annotations"].(map[string]any)
	a["quartermaster.io/latency-slo"], a["quartermaster.io/gpu-models"] = "p99=100ms", "L4"
	out, err := ev.Evaluate(context.Background(), &Input{ID: "x", Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	if out.Allowed || !out.NoPlacement || !strings.Contains(out.Violations[0].Msg, "L4: ") {
		t.Errorf("outcome %+v, want no feasible placement naming L4's reason", out.Violations)
	}
}

// A sized count is set by a new decision only: an autoscaler's count stands
// through updates that keep the decision, and a new image sizes it again.
func TestAutoReplicasOnUpdate(t *testing.T) {
	ev := newTestEvaluator(t)
	obj := readObjects(t, "testdata/in/deployment-auto-replicas.yaml")[0]
	created, err := ev.Evaluate(context.Background(), &Input{ID: "create", Object: obj})
	if err != nil || created.Decision == nil || created.Decision.Replicas == 0 {
		t.Fatalf("create: %v %+v", err, created)
	}
	sized := created.Decision.Replicas
	patch, _ := json.Marshal(created.Patch)
	placed := applyRawPatch(t, obj, patch)
	if got := placed["spec"].(map[string]any)["replicas"]; got != float64(sized) {
		t.Fatalf("created with replicas %v, want the sized %d", got, sized)
	}
	raw := decisionAnnotation(placed)
	update := func(next map[string]any) *Outcome {
		t.Helper()
		out, err := ev.Evaluate(context.Background(), &Input{ID: "update", Object: next, Request: RequestInfo{Operation: "UPDATE"},
			RecordedRaw: raw, Recorded: parseDecision(raw), Replace: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	replicasOp := func(out *Outcome) *PatchOp {
		for i, op := range out.Patch {
			if op.Path == "/spec/replicas" {
				return &out.Patch[i]
			}
		}
		return nil
	}

	scaled := deepCopy(t, placed)
	scaled["spec"].(map[string]any)["replicas"] = float64(sized + 5) // the autoscaler's count
	if out := update(scaled); !out.Kept || replicasOp(out) != nil {
		t.Errorf("autoscaled: kept %v, replicas op %+v; want the decision kept and the count left alone", out.Kept, replicasOp(out))
	}

	rolled := deepCopy(t, scaled)
	containers := templateSpec(rolled)["containers"].([]any)
	containers[0].(map[string]any)["image"] = "ghcr.io/example/llm-server:2.0"
	out := update(rolled)
	if out.Kept || out.Decision == nil {
		t.Fatalf("new image: kept %v, decision %+v; want a new decision", out.Kept, out.Decision)
	}
	if op := replicasOp(out); op == nil || op.Value != out.Decision.Replicas || out.Decision.Replicas != sized {
		t.Errorf("new image: replicas op %+v, decision replicas %d; want the count sized again to %d", op, out.Decision.Replicas, sized)
	}
}
