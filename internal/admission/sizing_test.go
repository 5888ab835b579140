package admission

import (
	"context"
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
