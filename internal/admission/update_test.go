package admission

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// countingPolicy admits everything and counts its evaluations, so that a
// test can tell a kept decision (none) from a new one.
type countingPolicy struct {
	calls  atomic.Int64
	bundle *policy.Bundle // denies nothing
}

func newCountingPolicy(t testing.TB) *countingPolicy {
	t.Helper()
	b, err := policy.LoadFiles(context.Background(), map[string][]byte{"t.rego": []byte(
		"package quartermaster.t\n\ndeny contains {\"code\": \"never\", \"msg\": \"m\"} if input.workload.kind == \"never\"\n")}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &countingPolicy{bundle: b}
}

func (p *countingPolicy) Evaluate(ctx context.Context, in *policy.Input) (*policy.Evaluation, error) {
	p.calls.Add(1)
	return p.bundle.Evaluate(ctx, in)
}

// deepCopy copies decoded JSON, so that tests can edit a copy of an object.
func deepCopy(t testing.TB, obj map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFingerprintIgnoresOwnPatch: the fingerprint of an object is the same
// before and after its patch (so it can be recorded before the API server
// applies it), whatever the object already had where the patch writes —
// existing affinity terms, tolerations, empty containers — and for every
// example kind.
func TestFingerprintIgnoresOwnPatch(t *testing.T) {
	ev := newTestEvaluator(t)
	objects := map[string]map[string]any{}
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "workloads", "*.yaml"))
	for _, f := range files {
		objects[filepath.Base(f)] = example(t, filepath.Base(f))
	}
	for _, f := range []string{"deployment-existing-affinity.yaml", "job-spot-with-tolerations.yaml", "raycluster-head.yaml"} {
		objects[f] = testInput(t, f)
	}
	emptyContainers := example(t, "06-spot-training-job.yaml")
	spec := emptyContainers["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["affinity"], spec["nodeSelector"], spec["tolerations"] = map[string]any{}, map[string]any{}, []any{}
	objects["empty affinity, node selector and tolerations"] = emptyContainers
	emptyTerms := example(t, "06-spot-training-job.yaml")
	spec = emptyTerms["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["affinity"] = map[string]any{"nodeAffinity": map[string]any{requiredKey: map[string]any{"nodeSelectorTerms": []any{}}}}
	objects["empty node selector terms"] = emptyTerms

	placed := 0
	for name, obj := range objects {
		t.Run(name, func(t *testing.T) {
			out, err := ev.Evaluate(context.Background(), &Input{ID: "fp", Object: obj})
			if err != nil {
				t.Fatal(err)
			}
			if out.Decision == nil || len(out.Patch) == 0 {
				return // nothing placed (no GPU, denied or no placement): nothing to check
			}
			placed++
			patch, _ := json.Marshal(out.Patch)
			after := applyRawPatch(t, obj, patch)
			w, err := ev.extractor.Extract(after, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := fingerprint(after, w, out.Decision, ev.extractor.Labels())
			if got == "" || got != out.Decision.Fingerprint {
				t.Errorf("fingerprint after the patch %q, recorded %q", got, out.Decision.Fingerprint)
			}
		})
	}
	if placed < 8 {
		t.Fatalf("only %d objects were placed: the test checks too little", placed)
	}
}

func testInput(t testing.TB, file string) map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "in", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, err := workload.DecodeManifests(f)
	if err != nil || len(docs) != 1 {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return docs[0].Object
}

// updateFixture is a placed 6×L4 Deployment under an 8-GPU quota that its
// own 6 running pods already hold 6 of: the situation in which every
// update used to be refused.
type updateFixture struct {
	ev       *Evaluator
	policy   *countingPolicy
	placed   map[string]any // the stored object, as admitted
	decision *Decision
	raw      string
	usage    quota.GPUCounts // its own pods
}

func newUpdateFixture(t *testing.T) *updateFixture {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	obj := example(t, "03-inference-deployment-l4.yaml")
	first, err := newTestEvaluator(t).Evaluate(context.Background(), &Input{ID: "create", Object: obj})
	if err != nil || first.Decision == nil {
		t.Fatalf("placing the deployment: %v %+v", err, first)
	}
	d := first.Decision
	key := quota.Key{Cloud: d.Cloud, Region: d.Region, GPUModel: d.GPUModel}
	pol := newCountingPolicy(t)
	ev, err := NewEvaluator(Deps{Extractor: mustExtractor(t), Placer: placement.New(cat, quota.GPUCounts{key: 8}), Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	patch, _ := json.Marshal(first.Patch)
	placed := applyRawPatch(t, obj, patch)
	return &updateFixture{ev: ev, policy: pol, placed: placed, decision: d, raw: decisionAnnotation(placed),
		usage: quota.GPUCounts{key: 6}}
}

// update runs a mutating UPDATE of the stored object to next, as the
// handler builds it.
func (f *updateFixture) update(t *testing.T, next map[string]any, own quota.GPUCounts) *Outcome {
	t.Helper()
	in := &Input{ID: "update", Object: next, Request: RequestInfo{Operation: "UPDATE"}, Usage: f.usage, OwnUsage: own,
		RecordedRaw: f.raw, Recorded: parseDecision(f.raw), Replace: true}
	if in.Recorded == nil {
		t.Fatalf("the stored object's annotation is no decision: %s", f.raw)
	}
	out, err := f.ev.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func templateSpec(obj map[string]any) map[string]any {
	return obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
}

func TestUpdateOfPlacedWorkload(t *testing.T) {
	tests := map[string]struct {
		edit func(obj map[string]any)
		// noOwnUsage leaves the object's own pods counted as somebody
		// else's, to show what subtracting them changes.
		noOwnUsage bool
		wantKept   bool
		wantPatch  bool
		// wantWhere is "same" (the recorded place) or "moved".
		wantWhere string
		wantAllow bool
	}{
		"label edit keeps the decision": {
			edit:     func(o map[string]any) { o["metadata"].(map[string]any)["labels"] = map[string]any{"tier": "gold"} },
			wantKept: true, wantAllow: true, wantWhere: "same",
		},
		"scale down keeps the decision": {
			edit:     func(o map[string]any) { o["spec"].(map[string]any)["replicas"] = 5.0 },
			wantKept: true, wantAllow: true, wantWhere: "same",
		},
		"scale up keeps the decision": {
			edit:     func(o map[string]any) { o["spec"].(map[string]any)["replicas"] = 8.0 },
			wantKept: true, wantAllow: true, wantWhere: "same",
		},
		"rollout restart keeps the decision": {
			edit: func(o map[string]any) {
				tm := o["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)
				tm["annotations"] = map[string]any{"kubectl.kubernetes.io/restartedAt": "2026-11-29T19:00:00Z"}
			},
			wantKept: true, wantAllow: true, wantWhere: "same",
		},
		"unchanged re-apply keeps the decision": {
			edit:     func(map[string]any) {},
			wantKept: true, wantAllow: true, wantWhere: "same",
		},
		"replace without our pins and annotation gets them back": {
			edit: func(o map[string]any) {
				delete(templateSpec(o), "affinity")
				delete(o["metadata"].(map[string]any)["annotations"].(map[string]any), workload.AnnotationDecision)
			},
			wantKept: true, wantPatch: true, wantAllow: true, wantWhere: "same",
		},
		"an edited decision annotation is restored": {
			edit: func(o map[string]any) {
				o["metadata"].(map[string]any)["annotations"].(map[string]any)[workload.AnnotationDecision] = `{"cloud":"gcp"}`
			},
			wantKept: true, wantPatch: true, wantAllow: true, wantWhere: "same",
		},
		"new image is placed again, not against its own pods": {
			edit: func(o map[string]any) {
				templateSpec(o)["containers"].([]any)[0].(map[string]any)["image"] = "ghcr.io/example/embeddings:2.0"
			},
			wantPatch: true, wantAllow: true, wantWhere: "same",
		},
		"new image counted against its own pods would move": {
			edit: func(o map[string]any) {
				templateSpec(o)["containers"].([]any)[0].(map[string]any)["image"] = "ghcr.io/example/embeddings:2.0"
			},
			noOwnUsage: true, wantPatch: true, wantAllow: true, wantWhere: "moved",
		},
		"new GPU models move it, with the old pins replaced": {
			edit: func(o map[string]any) {
				o["metadata"].(map[string]any)["annotations"].(map[string]any)[workload.AnnotationGPUModels] = "T4"
			},
			wantPatch: true, wantAllow: true, wantWhere: "moved",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newUpdateFixture(t)
			next := deepCopy(t, f.placed)
			tc.edit(next)
			own := f.usage
			if tc.noOwnUsage {
				own = nil
			}
			out := f.update(t, next, own)
			if out.Allowed != tc.wantAllow || out.Kept != tc.wantKept {
				t.Fatalf("allowed %v kept %v, want %v %v: %+v", out.Allowed, out.Kept, tc.wantAllow, tc.wantKept, out.Violations)
			}
			if tc.wantKept && (out.CatalogRevision == "" || out.CatalogRevision != f.decision.CatalogRevision) {
				t.Errorf("kept decision logged with catalog %q, want the one that priced it, %q", out.CatalogRevision, f.decision.CatalogRevision)
			}
			if calls := f.policy.calls.Load(); (calls == 0) != tc.wantKept {
				t.Errorf("policy evaluated %d times; kept %v", calls, tc.wantKept)
			}
			samePlace := out.Decision.Cloud == f.decision.Cloud && out.Decision.Region == f.decision.Region &&
				out.Decision.InstanceType == f.decision.InstanceType
			if samePlace != (tc.wantWhere == "same") {
				t.Errorf("placed at %s/%s/%s, recorded %s/%s/%s, want %s", out.Decision.Cloud, out.Decision.Region,
					out.Decision.InstanceType, f.decision.Cloud, f.decision.Region, f.decision.InstanceType, tc.wantWhere)
			}
			if (len(out.Patch) > 0) != tc.wantPatch {
				t.Fatalf("patch %+v, want one: %v", out.Patch, tc.wantPatch)
			}
			// Whatever happened, the object as stored afterwards is pinned
			// to exactly one place, that of the outcome's decision, and its
			// annotation records that decision.
			patch, _ := json.Marshal(out.Patch)
			after := applyRawPatch(t, next, patch)
			checkPinnedOnlyTo(t, templateSpec(after), out.Decision)
			got := parseDecision(decisionAnnotation(after))
			if got == nil || got.Region != out.Decision.Region || got.Fingerprint != out.Decision.Fingerprint {
				t.Errorf("annotation after the update %s, want the decision in %s", decisionAnnotation(after), out.Decision.Region)
			}
		})
	}
}

// checkPinnedOnlyTo fails unless every node selector term of spec requires
// exactly d's region and instance type (no leftover of an earlier decision).
func checkPinnedOnlyTo(t *testing.T, spec map[string]any, d *Decision) {
	t.Helper()
	terms, _ := pointerGet(spec, "/"+nodeAffinityPath).([]any)
	if len(terms) == 0 {
		t.Fatalf("no required node affinity in %v", spec)
	}
	keys := workload.DefaultLabelKeys()
	for _, term := range terms {
		values := map[string][]string{}
		for _, e := range term.(map[string]any)["matchExpressions"].([]any) {
			em := e.(map[string]any)
			for _, v := range em["values"].([]any) {
				values[em["key"].(string)] = append(values[em["key"].(string)], v.(string))
			}
		}
		if strings.Join(values[keys.Region], ",") != d.Region || strings.Join(values[keys.InstanceType], ",") != d.InstanceType {
			t.Errorf("term %v, want only region %s and instance type %s", term, d.Region, d.InstanceType)
		}
	}
}

func TestUpdateOfDeletingObjectIsAllowed(t *testing.T) {
	f := newUpdateFixture(t)
	next := deepCopy(t, f.placed)
	next["metadata"].(map[string]any)["deletionTimestamp"] = "2026-11-29T19:00:00Z"
	templateSpec(next)["containers"].([]any)[0].(map[string]any)["image"] = "changed" // would be placed again
	out := f.update(t, next, nil)
	if !out.Allowed || len(out.Patch) > 0 || f.policy.calls.Load() != 0 {
		t.Fatalf("deleting object: %+v", out)
	}
}

// TestValidateKeepsMatchingDecision: the validating call accepts a final
// object that still matches the decision it carries without evaluating
// anything, even with the quota full; one whose pins were changed is judged
// in full.
func TestValidateKeepsMatchingDecision(t *testing.T) {
	f := newUpdateFixture(t)
	validate := func(obj map[string]any) *Outcome {
		raw := decisionAnnotation(obj)
		out, err := f.ev.Evaluate(context.Background(), &Input{ID: "v", Object: obj, Usage: f.usage,
			RecordedRaw: raw, Recorded: parseDecision(raw)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := validate(f.placed)
	if !out.Allowed || !out.Kept || len(out.Patch) > 0 || f.policy.calls.Load() != 0 {
		t.Fatalf("placed object: %+v (policy calls %d)", out, f.policy.calls.Load())
	}
	moved := deepCopy(t, f.placed)
	for _, term := range pointerGet(templateSpec(moved), "/"+nodeAffinityPath).([]any) {
		for _, e := range term.(map[string]any)["matchExpressions"].([]any) {
			if em := e.(map[string]any); em["key"] == workload.DefaultLabelKeys().Region {
				em["values"] = []any{"mars-central-1"}
			}
		}
	}
	out = validate(moved)
	if out.Kept || f.policy.calls.Load() != 1 || out.Allowed {
		t.Fatalf("object pinned elsewhere after mutation: kept %v, policy calls %d, allowed %v", out.Kept, f.policy.calls.Load(), out.Allowed)
	}
}

// TestForgedDecisionOnCreateIsIgnored: a CREATE carrying a decision
// annotation (copied from another object, or written by hand) is placed in
// full: only the stored object's record is trusted.
func TestForgedDecisionOnCreateIsIgnored(t *testing.T) {
	f := newUpdateFixture(t)
	h := newTestHandler(t, HandlerOptions{Evaluator: f.ev})
	forged := deepCopy(t, f.placed)
	w := post(t, h, "application/json", review(t, "c1", forged))
	if f.policy.calls.Load() != 1 {
		t.Fatalf("CREATE with a decision annotation: policy calls %d, want 1 (%s)", f.policy.calls.Load(), w.Body)
	}
	// The same object as an UPDATE of itself keeps the stored decision.
	w = post(t, h, "application/json", review(t, "u1", forged, withOperation("UPDATE"), withOldObject(f.placed)))
	if f.policy.calls.Load() != 1 || !strings.Contains(w.Body.String(), `"allowed":true`) || strings.Contains(w.Body.String(), "patch") {
		t.Fatalf("UPDATE: policy calls %d, body %s", f.policy.calls.Load(), w.Body)
	}
}

func withOldObject(old map[string]any) reviewOption {
	return func(req map[string]any) { req["oldObject"] = old }
}

// TestInferenceSLOWarnings: an inference workload whose replicas cannot
// meet its own latency objective is admitted with a warning that says why
// (issue 17 item 6).
func TestInferenceSLOWarnings(t *testing.T) {
	ev := newTestEvaluator(t)
	tests := map[string]struct {
		annotations map[string]any
		replicas    float64
		want        string
	}{
		"the example: exponential service alone misses p99": {want: "cannot be met on L4"},
		// λ/μ = 40 × 0.12 = 4.8: five replicas are stable but queue too long
		// for p99 ≤ 2 s; six are the fewest that meet it.
		"too few replicas": {annotations: map[string]any{"quartermaster.io/latency-slo": "p99=2s"}, replicas: 5,
			want: "needs 6 replicas on L4"},
		"enough replicas": {annotations: map[string]any{"quartermaster.io/latency-slo": "p99=2s"}, replicas: 6},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := example(t, "03-inference-deployment-l4.yaml")
			for k, v := range tc.annotations {
				obj["metadata"].(map[string]any)["annotations"].(map[string]any)[k] = v
			}
			if tc.replicas > 0 {
				obj["spec"].(map[string]any)["replicas"] = tc.replicas
			}
			out, err := ev.Evaluate(context.Background(), &Input{ID: "slo", Object: obj})
			if err != nil || !out.Allowed {
				t.Fatalf("%+v %v", out, err)
			}
			got := strings.Join(out.Warnings, "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}
