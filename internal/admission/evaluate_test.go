package admission

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func testEvaluator(t testing.TB, quotas quota.GPUCounts) *Evaluator {
	t.Helper()
	f, err := os.Open("testdata/catalog.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cat, err := costing.ReadCSV(f, nil, "testdata/catalog.csv")
	if err != nil {
		t.Fatal(err)
	}
	x, err := workload.New(workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluator(Deps{Extractor: x, Placer: placement.New(cat, quotas)})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func readObjects(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, err := workload.DecodeManifests(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, d := range docs {
		out = append(out, d.Object)
	}
	return out
}

// applyPatch applies ops to obj the way the API server does.
func applyPatch(t testing.TB, obj map[string]any, ops []PatchOp) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(ops)
	return applyRawPatch(t, obj, raw)
}

// TestPatchGolden compares each input's patch with testdata/*.patch.golden
// and checks that the patch is idempotent under reinvocation.
func TestPatchGolden(t *testing.T) {
	ev := testEvaluator(t, nil)
	inputs, _ := filepath.Glob("testdata/in/*.yaml")
	if len(inputs) == 0 {
		t.Fatal("no inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			obj := readObjects(t, in)[0]
			out, err := ev.Evaluate(context.Background(), &Input{ID: "golden", Object: obj})
			if err != nil {
				t.Fatal(err)
			}
			if !out.Allowed || out.Decision == nil {
				t.Fatalf("want an allowed, placed workload: %+v", out)
			}
			got, _ := json.MarshalIndent(out.Patch, "", "  ")
			golden := filepath.Join("testdata", name+".patch.golden")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
				t.Errorf("patch differs from %s:\n%s", golden, got)
			}

			patched := applyPatch(t, obj, out.Patch)
			again, err := ev.Evaluate(context.Background(), &Input{ID: "second", Object: patched})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Patch) != 0 {
				js, _ := json.Marshal(again.Patch)
				t.Errorf("reinvocation changed the object again: %s", js)
			}
			if again.Decision.Cloud != out.Decision.Cloud || again.Decision.Region != out.Decision.Region ||
				again.Decision.InstanceType != out.Decision.InstanceType {
				t.Errorf("reinvocation moved the workload: %+v -> %+v", out.Decision, again.Decision)
			}
			checkUserTermsKept(t, obj, patched)
		})
	}
}

// checkUserTermsKept asserts that every node selector term the user wrote is
// still there, with our requirements only appended.
func checkUserTermsKept(t *testing.T, before, after map[string]any) {
	t.Helper()
	const path = "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"
	for _, ptr := range []string{"/spec", "/spec/template/spec"} {
		old, _ := pointerGet(before, ptr+path).([]any)
		now, _ := pointerGet(after, ptr+path).([]any)
		if len(old) > 0 && len(now) != len(old) {
			t.Fatalf("%s: %d terms became %d", ptr, len(old), len(now))
		}
		for i := range old {
			oe := old[i].(map[string]any)["matchExpressions"].([]any)
			ne := now[i].(map[string]any)["matchExpressions"].([]any)
			if !reflect.DeepEqual(oe, ne[:len(oe)]) {
				t.Errorf("%s term %d: user expressions changed: %v -> %v", ptr, i, oe, ne)
			}
		}
		for _, key := range []string{"preferredDuringSchedulingIgnoredDuringExecution"} {
			if a, b := pointerGet(before, ptr+"/affinity/nodeAffinity/"+key), pointerGet(after, ptr+"/affinity/nodeAffinity/"+key); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: %s changed", ptr, key)
			}
		}
		if a, b := pointerGet(before, ptr+"/affinity/podAntiAffinity"), pointerGet(after, ptr+"/affinity/podAntiAffinity"); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: podAntiAffinity changed", ptr)
		}
	}
}

func TestPatchShapes(t *testing.T) {
	ev := testEvaluator(t, nil)
	keys := workload.DefaultLabelKeys()

	t.Run("spot adds selector and toleration", func(t *testing.T) {
		obj := readObjects(t, "testdata/in/job-spot-with-tolerations.yaml")[0]
		out, err := ev.Evaluate(context.Background(), &Input{Object: obj})
		if err != nil {
			t.Fatal(err)
		}
		p := applyPatch(t, obj, out.Patch)
		spec := pointerGet(p, "/spec/template/spec").(map[string]any)
		if out.Decision.CapacityType != "spot" || spec["nodeSelector"].(map[string]any)[keys.CapacityType] != "spot" ||
			spec["nodeSelector"].(map[string]any)["kubernetes.io/os"] != "linux" {
			t.Errorf("node selector = %v", spec["nodeSelector"])
		}
		tols := spec["tolerations"].([]any)
		if len(tols) != 2 || tols[1].(map[string]any)["key"] != keys.SpotTaint {
			t.Errorf("tolerations = %v", tols)
		}
	})

	t.Run("ray head gets cloud and region only", func(t *testing.T) {
		obj := readObjects(t, "testdata/in/raycluster-head.yaml")[0]
		out, err := ev.Evaluate(context.Background(), &Input{Object: obj})
		if err != nil {
			t.Fatal(err)
		}
		p := applyPatch(t, obj, out.Patch)
		keysOf := func(ptr string) []string {
			terms := pointerGet(p, ptr+"/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms").([]any)
			var ks []string
			for _, e := range terms[0].(map[string]any)["matchExpressions"].([]any) {
				ks = append(ks, e.(map[string]any)["key"].(string))
			}
			return ks
		}
		if got := keysOf("/spec/headGroupSpec/template"); !reflect.DeepEqual(got, []string{keys.Cloud, keys.Region}) {
			t.Errorf("head keys = %v", got)
		}
		if got := keysOf("/spec/workerGroupSpecs/0/template"); !reflect.DeepEqual(got, []string{keys.Cloud, keys.Region, keys.InstanceType}) {
			t.Errorf("worker keys = %v", got)
		}
	})

	t.Run("decision annotation", func(t *testing.T) {
		obj := readObjects(t, "testdata/in/pod-no-metadata-annotations.yaml")[0]
		out, err := ev.Evaluate(context.Background(), &Input{ID: "abc", Object: obj})
		if err != nil {
			t.Fatal(err)
		}
		p := applyPatch(t, obj, out.Patch)
		raw := p["metadata"].(map[string]any)["annotations"].(map[string]any)[workload.AnnotationDecision].(string)
		var d map[string]any
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "cloud", "region", "instanceType", "gpuModel", "gpusPerNode", "nodes", "capacityType",
			"nodePricePerHour", "pricePerHour", "estimatedCost", "alternatives", "policies"} {
			if _, ok := d[k]; !ok {
				t.Errorf("decision annotation lacks %q (contract 4.2): %s", k, raw)
			}
		}
		if d["id"] != "abc" || d["cloud"] != "gcp" || d["instanceType"] != "g2-standard-4" {
			t.Errorf("decision = %s", raw)
		}
	})
}

func TestEvaluateOutcomes(t *testing.T) {
	ev := testEvaluator(t, quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 8})
	pod := func(ann map[string]any, spec map[string]any) map[string]any {
		if spec == nil {
			spec = map[string]any{}
		}
		spec["containers"] = []any{map[string]any{"name": "a", "image": "i",
			"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": float64(8)}}}}
		return map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": "p", "namespace": "ns", "annotations": ann}, "spec": spec}
	}
	eu := &costing.Restrictions{}
	eu.Restrict(costing.FieldJurisdiction, []string{"eu"}, "restricted data stays in the EU", "residency")
	tests := map[string]struct {
		in          Input
		allowed     bool
		gpu         bool
		code        string
		message     string
		noPlacement bool
		region      string
		// scaledToZero: the decision says it was placed for one replica.
		scaledToZero bool
		// warning is in the outcome's warnings; "" wants none.
		warning string
	}{
		"not a workload": {in: Input{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}}, allowed: true},
		"no gpu": {in: Input{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "a"}}}}}, allowed: true},
		"bad annotation":  {in: Input{Object: pod(map[string]any{workload.AnnotationInterruptible: "maybe"}, nil)}, gpu: true, code: CodeInvalidAnnotation},
		"bad object":      {in: Input{Object: pod(nil, map[string]any{"volumes": "x"})}, gpu: true, code: CodeInvalidWorkload},
		"placed":          {in: Input{Object: pod(nil, nil)}, allowed: true, gpu: true, region: "us-east-1"},
		"quota exhausted": {in: Input{Object: pod(nil, nil), Usage: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 1}}, allowed: true, gpu: true, region: "europe-west4"},
		"restricted":      {in: Input{Object: pod(nil, nil), Restrictions: eu}, allowed: true, gpu: true, region: "europe-west4"},
		"no placement":    {in: Input{Object: pod(map[string]any{workload.AnnotationGPUModels: "T4"}, nil)}, gpu: true, code: CodeNoFeasiblePlacement, noPlacement: true},
		"pin forbidden": {in: Input{Object: pod(nil, map[string]any{"nodeSelector": map[string]any{"topology.kubernetes.io/region": "us-east-1"}}), Restrictions: eu},
			gpu: true, code: CodePinForbidden},
		"GPU request above its limit": {in: Input{Object: withResources(pod(nil, nil), map[string]any{
			"requests": map[string]any{"nvidia.com/gpu": "8"}, "limits": map[string]any{"nvidia.com/gpu": "4"}})},
			gpu: true, code: CodeInvalidWorkload, message: "requests nvidia.com/gpu 8 but limits 4: a device's request must equal its limit"},
		"GPU request equal to its limit": {in: Input{Object: withResources(pod(nil, nil), map[string]any{
			"requests": map[string]any{"nvidia.com/gpu": "8"}, "limits": map[string]any{"nvidia.com/gpu": "8"}})},
			allowed: true, gpu: true, region: "us-east-1"},
		"scaled to zero is placed for one replica, whatever the quota": {in: Input{Object: deploymentOf(pod(nil, nil), 0),
			Usage: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 8}},
			allowed: true, gpu: true, region: "us-east-1", scaledToZero: true},
		"undescribed kind asking for GPUs is allowed with a warning": {in: Input{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Trainer",
			"metadata": map[string]any{"name": "t", "namespace": "ns"}, "spec": map[string]any{"worker": map[string]any{"template": map[string]any{
				"spec": pod(nil, nil)["spec"]}}}}},
			allowed: true, warning: "asks for GPUs (spec.worker.template.spec) but is a kind Quartermaster has no workload rule for"},
		"undescribed kind without GPUs passes quietly": {in: Input{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Trainer",
			"metadata": map[string]any{"name": "t"}, "spec": map[string]any{"containers": []any{map[string]any{"name": "a"}}}}}, allowed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := ev.Evaluate(context.Background(), &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if out.Allowed != tc.allowed || out.GPU != tc.gpu || out.NoPlacement != tc.noPlacement {
				t.Fatalf("outcome = %+v", out)
			}
			if tc.code != "" && !out.HasCode(tc.code) {
				t.Errorf("violations %+v lack %s", out.Violations, tc.code)
			}
			if tc.message != "" && (len(out.Violations) == 0 || !strings.Contains(out.Violations[0].Msg, tc.message)) {
				t.Errorf("violations %+v lack %q", out.Violations, tc.message)
			}
			if got := strings.Join(out.Warnings, "\n"); (tc.warning == "") != (got == "") || !strings.Contains(got, tc.warning) {
				t.Errorf("warnings %q, want %q", got, tc.warning)
			}
			if tc.scaledToZero && (out.Decision == nil || !out.Decision.ScaledToZero || out.Decision.Nodes != 1) {
				t.Errorf("decision %+v, want one that says it was placed for one replica", out.Decision)
			}
			if tc.region != "" && (out.Decision == nil || out.Decision.Region != tc.region) {
				t.Errorf("decision = %+v, want region %s", out.Decision, tc.region)
			}
			if !tc.gpu && len(out.Patch) != 0 {
				t.Errorf("non-GPU objects must not be patched: %+v", out.Patch)
			}
		})
	}
	restricted := tests["restricted"].in
	out, _ := ev.Evaluate(context.Background(), &restricted)
	if !reflect.DeepEqual(out.Decision.Policies, []string{"residency"}) {
		t.Errorf("policies = %v, want [residency]", out.Decision.Policies)
	}
}

// withResources sets the resources of a test pod's first container.
func withResources(pod map[string]any, resources map[string]any) map[string]any {
	pod["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["resources"] = resources
	return pod
}

// deploymentOf wraps a test pod's spec and metadata in a Deployment.
func deploymentOf(pod map[string]any, replicas float64) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": pod["metadata"],
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{"metadata": map[string]any{}, "spec": pod["spec"]}}}
}

func TestNewEvaluatorRequiresDeps(t *testing.T) {
	if _, err := NewEvaluator(Deps{}); err == nil {
		t.Fatal("want an error")
	}
}
