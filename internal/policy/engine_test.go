package policy

import (
	"context"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

const denyAll = `package quartermaster.t

deny contains {"code": "t-deny", "msg": "denied"} if input.workload.team == "x"

warn contains {"code": "t-warn", "msg": "careful"} if input.workload.team == "x"

restrict contains {"field": "jurisdiction", "allowed": ["eu"], "reason": "test"} if input.workload.team == "x"
`

const otherPkg = `package quartermaster.u

deny contains {"code": "u-deny", "msg": "also denied"} if input.workload.team == "x"
`

func mustLoad(t *testing.T, files map[string]string) *Bundle {
	t.Helper()
	b, err := loadStrings(files)
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	return b
}

func loadStrings(files map[string]string) (*Bundle, error) {
	m := map[string][]byte{}
	for k, v := range files {
		m[k] = []byte(v)
	}
	return LoadFiles(context.Background(), m, Options{RunTests: true})
}

func teamInput(team, ns string) *Input {
	return &Input{Workload: Workload{Team: team}, Namespace: Namespace{Name: ns}}
}

func TestEnforcementModes(t *testing.T) {
	tests := map[string]struct {
		enforcement          string
		violations, warnings []string
		dryRun               []string
		restricted           bool
	}{
		"default enforces": {
			violations: []string{"t-deny", "u-deny"}, warnings: []string{"t-warn"}, restricted: true,
		},
		"package in warn mode": {
			enforcement: "packages: {t: warn}",
			violations:  []string{"u-deny"}, warnings: []string{"t-deny", "t-warn"}, restricted: true,
		},
		"rule in dryrun beats its package": {
			enforcement: "packages: {quartermaster.u: warn}\nrules: {u-deny: dryrun}",
			violations:  []string{"t-deny"}, warnings: []string{"t-warn"}, dryRun: []string{"u-deny"}, restricted: true,
		},
		"dryrun default records restrictions only": {
			enforcement: "default: dryrun",
			warnings:    []string{"t-warn"}, dryRun: []string{"restrict", "t-deny", "u-deny"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"t.rego": denyAll, "u.rego": otherPkg}
			if tc.enforcement != "" {
				files["enforcement.yaml"] = tc.enforcement
			}
			d, err := mustLoad(t, files).Evaluate(context.Background(), teamInput("x", "ml"))
			if err != nil {
				t.Fatal(err)
			}
			got := [3][]string{codes(d.Violations), codes(d.Warnings), codes(d.DryRun)}
			slices.Sort(got[2])
			want := [3][]string{tc.violations, tc.warnings, tc.dryRun}
			for i := range want {
				if want[i] == nil {
					want[i] = []string{}
				}
				if got[i] == nil {
					got[i] = []string{}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("violations, warnings, dry run = %v, want %v", got, want)
			}
			if (d.Restrictions != nil) != tc.restricted {
				t.Errorf("restrictions = %+v, want restricted %v", d.Restrictions, tc.restricted)
			}
		})
	}
}

func TestExemptNamespaces(t *testing.T) {
	b := mustLoad(t, map[string]string{"t.rego": denyAll, "exemptions.json": `{"namespaces": ["kube-system", "team-*"]}`})
	for ns, exempt := range map[string]bool{"kube-system": true, "team-a": true, "ml": false, "kube": false} {
		d, err := b.Evaluate(context.Background(), teamInput("x", ns))
		if err != nil {
			t.Fatal(err)
		}
		if d.Exempt != exempt || d.Denied() == exempt {
			t.Errorf("namespace %s: exempt %v denied %v, want exempt %v", ns, d.Exempt, d.Denied(), exempt)
		}
	}
}

func TestEvaluationErrorsFailClosed(t *testing.T) {
	tests := map[string]struct{ rego, want string }{
		"conflict in a complete rule": {
			rego: "package quartermaster.t\n\nlevel := 1 if input.workload.team == \"x\"\n\nlevel := 2 if input.workload.team != \"\"\n\ndeny contains {\"code\": \"c\", \"msg\": \"m\"} if level == 3\n",
			want: "produced conflicting values",
		},
		"deny element without msg": {
			rego: "package quartermaster.t\n\ndeny contains {\"code\": \"c\"} if true\n",
			want: "data.quartermaster.t.deny: element",
		},
		"restrict on an unknown field": {
			rego: "package quartermaster.t\n\nrestrict contains {\"field\": \"planet\", \"allowed\": [\"mars\"], \"reason\": \"r\"} if true\n",
			want: `field "planet"`,
		},
		"require without capability": {
			rego: "package quartermaster.t\n\nrequire contains {\"reason\": \"r\"} if true\n",
			want: "capability",
		},
		"runtime error in a builtin": {
			rego: "package quartermaster.t\n\ndeny contains {\"code\": \"c\", \"msg\": m} if m := sprintf(\"%d\", [to_number(\"x\")])\n",
			want: "to_number",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := mustLoad(t, map[string]string{"t.rego": tc.rego})
			d, err := b.Evaluate(context.Background(), teamInput("x", "ml"))
			if err == nil || !IsEvalError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got decision %+v, error %v; want an EvalError mentioning %q", d, err, tc.want)
			}
		})
	}
	t.Run("deadline passing mid-evaluation", func(t *testing.T) {
		// A hundred million steps: without cancellation this would outlast
		// the test binary's timeout.
		b := mustLoad(t, map[string]string{"t.rego": "package quartermaster.t\n\n" +
			"deny contains {\"code\": \"c\", \"msg\": \"m\"} if {\n\tsome x in numbers.range(1, 10000)\n\tsome y in numbers.range(1, 10000)\n\tx * y == -1\n}\n"})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := b.Evaluate(ctx, teamInput("x", "ml")); !IsEvalError(err) || !strings.Contains(err.Error(), "cancel") {
			t.Fatalf("want an EvalError about cancellation, got %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := loadLibrary(t).Evaluate(ctx, teamInput("x", "ml")); !IsEvalError(err) {
			t.Fatalf("want an EvalError, got %v", err)
		}
	})
}

func TestLoadRejectsBrokenBundles(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		want  string
	}{
		"parse error":        {map[string]string{"t.rego": "package quartermaster.t\n\ndeny contains if {"}, "parsing t.rego"},
		"compile error":      {map[string]string{"t.rego": "package quartermaster.t\n\ndeny contains x if y == 1\n"}, "compiling policy bundle"},
		"deny not a set":     {map[string]string{"t.rego": "package quartermaster.t\n\ndeny := {\"code\": \"c\"}\n"}, "must be a set"},
		"no contract rules":  {map[string]string{"t.rego": "package other\n\nx := 1\n"}, "defines no deny"},
		"no policy files":    {map[string]string{"teams.yaml": "a: 1"}, "no .rego policy files"},
		"failing own test":   {map[string]string{"t.rego": denyAll, "t_test.rego": "package quartermaster.t_test\n\ntest_never if false\n"}, "fails its own tests: data.quartermaster.t_test.test_never"},
		"bad mode":           {map[string]string{"t.rego": denyAll, "enforcement.yaml": "default: loud"}, `mode "loud"`},
		"unknown mode key":   {map[string]string{"t.rego": denyAll, "enforcement.yaml": "packges: {}"}, `unknown key "packges"`},
		"bad exemption":      {map[string]string{"t.rego": denyAll, "exemptions.yaml": "namespaces: [1]"}, "exemptions.namespaces[0]"},
		"regions reserved":   {map[string]string{"t.rego": denyAll, "regions.json": "{}"}, "reserved"},
		"duplicate data key": {map[string]string{"t.rego": denyAll, "a/teams.yaml": "x: 1", "b/teams.json": "{}"}, "both define data.config.teams"},
		"data not an object": {map[string]string{"t.rego": denyAll, "teams.yaml": "- a"}, "want an object at the top level, got a list"},
		"bad yaml":           {map[string]string{"t.rego": denyAll, "teams.yaml": "a: [1"}, "data file teams.yaml"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadStrings(tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLibraryPassesItsOwnChecks(t *testing.T) {
	files, err := ReadFiles(os.DirFS(libraryDir))
	if err != nil {
		t.Fatal(err)
	}
	b := loadLibrary(t)
	if problems := b.Lint(files); len(problems) > 0 {
		t.Errorf("opa fmt / check --strict problems: %v", problems)
	}
	rep, err := b.RunTests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Failed(); len(f) > 0 || len(rep.Results) < 20 {
		t.Errorf("%d tests, failed: %v", len(rep.Results), f)
	}
	if rep.Coverage < 90 {
		t.Errorf("coverage %.1f%% < 90%%; not covered: %v", rep.Coverage, rep.Uncovered)
	}
	want := []string{"quartermaster.access", "quartermaster.budget", "quartermaster.encryption", "quartermaster.residency"}
	if got := b.Packages(); !reflect.DeepEqual(got, want) || b.phase2 == nil {
		t.Errorf("packages %v (phase two %v), want %v with budget after placement", got, b.phase2 != nil, want)
	}
}

func TestLintFindsProblems(t *testing.T) {
	files := map[string][]byte{
		"t.rego": []byte("package quartermaster.t\ndeny contains {\"code\":\"c\",\"msg\":\"m\"} if { x := 1; true }\n"),
	}
	b, err := LoadFiles(context.Background(), files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Join(b.Lint(files), "\n")
	if !strings.Contains(p, "not formatted") || !strings.Contains(p, "assigned but not used") && !strings.Contains(p, "unused") {
		t.Errorf("lint = %q, want format and strict (unused variable) problems", p)
	}
}

func TestEvaluateNeverCompiles(t *testing.T) {
	b := loadLibrary(t)
	in := typicalInput()
	before := Compilations()
	for range 50 {
		e, err := b.Evaluate(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Placed(context.Background(), &placement.Placement{PricePerHour: 50, EstimatedCost: 100}); err != nil {
			t.Fatal(err)
		}
	}
	if after := Compilations(); after != before {
		t.Errorf("%d compilations during evaluation, want 0", after-before)
	}
}

func TestPlacedNeedsPlacement(t *testing.T) {
	e, err := loadLibrary(t).Evaluate(context.Background(), typicalInput())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Placed(context.Background(), nil); !IsEvalError(err) {
		t.Fatalf("want an EvalError without placement, got %v", err)
	}
}

func TestToValueMatchesJSON(t *testing.T) {
	in := typicalInput()
	in.Placement = &placement.Placement{Cloud: "aws", PricePerHour: 12.5}
	got, err := toValue(reflect.ValueOf(in))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.InterfaceToValue(in) // OPA's own, via encoding/json
	if err != nil {
		t.Fatal(err)
	}
	if got.Compare(want) != 0 {
		t.Errorf("ToValue differs from JSON:\n got %v\nwant %v", got, want)
	}
	if _, err := toValue(reflect.ValueOf(map[int]string{1: "a"})); err == nil {
		t.Error("want an error for a map with int keys")
	}
}

var update = flag.Bool("update", false, "rewrite docs/policy-input.schema.json")

func TestSchemaIsCurrent(t *testing.T) {
	const path = "../../docs/policy-input.schema.json"
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/policy -run TestSchemaIsCurrent -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale: run make generate", path)
	}
	for _, field := range []string{`"workload"`, `"evidence"`, `"placement"`, `"keyKind"`, `"totalGPUs"`} {
		if !strings.Contains(string(got), field) {
			t.Errorf("schema lacks %s", field)
		}
	}
}

// typicalInput is a 2-node H100 training job with a volume and a dataset.
func typicalInput() *Input {
	return &Input{
		Request:   Request{Operation: "CREATE", Username: "alice", Groups: []string{"research"}},
		Namespace: Namespace{Name: "research", Labels: map[string]string{"quartermaster.io/team": "research"}},
		Workload: Workload{
			APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Namespace: "research", Name: "llm", Team: "research",
			Class: "training", ExpectedHours: 36, Datasets: []string{"s3://corpus-us/v3/"}, DataClassification: "confidential",
			Residency: []string{"us"}, GPUModels: []string{"H100", "H200"}, TotalGPUs: 16, GPUReplicas: 2,
			PodSets: []PodSet{
				{Name: "Master", Replicas: 1, GPUResource: "nvidia.com/gpu", GPUsPerReplica: 8, CPUMilli: 90000, MemoryBytes: 900 << 30,
					Images: []string{"ghcr.io/example/llm-train:2.4"}, ServiceAccount: "trainer",
					Volumes: []Volume{{Name: "ckpt", Kind: "persistentVolumeClaim", ClaimName: "ckpt", StorageClass: ""}}},
				{Name: "Worker", Replicas: 1, GPUResource: "nvidia.com/gpu", GPUsPerReplica: 8, CPUMilli: 90000, MemoryBytes: 900 << 30,
					Images: []string{"ghcr.io/example/llm-train:2.4"}, ServiceAccount: "trainer"},
			},
			Annotations: map[string]string{"quartermaster.io/team": "research"},
		},
		Evidence: encryption.Evidence{
			Volumes: []encryption.VolumeEvidence{{PodSet: "Master", Name: "ckpt", Kind: "persistentVolumeClaim", Persistent: true,
				ClaimName: "ckpt", StorageClass: "gp3-cmk", Provisioner: "ebs.csi.aws.com", State: "encrypted",
				KeyKind: "customer-managed", KeyID: "arn:aws:kms:k", Detail: "EBS encrypted with KMS key"}},
			Datasets: []encryption.DatasetEvidence{{Location: "s3://corpus-us/v3/", Scheme: "s3", Bucket: "corpus-us", Known: true,
				Cloud: "aws", Region: "us-east-1", Jurisdiction: "us", State: "encrypted", KeyKind: "customer-managed"}},
		},
		Object: map[string]any{"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
			"metadata": map[string]any{"name": "llm", "namespace": "research"}},
	}
}

// One bundle serves concurrent requests: the queries, the store and the
// folded constants are shared, each evaluation's state is its own (run
// with -race).
func TestConcurrentEvaluations(t *testing.T) {
	b := loadLibrary(t)
	want, err := b.Evaluate(context.Background(), typicalInput())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				in := typicalInput()
				d, err := b.Evaluate(context.Background(), in)
				if err == nil && !reflect.DeepEqual(d.Decision, want.Decision) {
					err = fmt.Errorf("decision %+v, want %+v", d.Decision, want.Decision)
				}
				if err == nil {
					_, err = d.Placed(context.Background(), typicalPlacement())
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
