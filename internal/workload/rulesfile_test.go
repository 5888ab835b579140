package workload

import (
	"strings"
	"testing"
)

func TestReadRules(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    int
		wantErr string
	}{
		"one CRD": {in: `rules:
  - group: example.com
    kind: Trainer
    class: training
    podSets: [{each: spec.workers.*, template: template, replicas: replicas}]
`, want: 1},
		"empty":            {in: "rules: []\n", want: 0},
		"unknown field":    {in: "rules: [{group: g, kind: K, podSets: [{template: spec.template}], replica: 3}]\n", wantErr: `unknown field "replica"`},
		"duplicate key":    {in: "rules: [{group: g, kind: K, kind: L, podSets: [{template: spec.template}]}]\n", wantErr: "already set"},
		"no kind":          {in: "rules: [{group: g, podSets: [{template: spec.template}]}]\n", wantErr: "rules[0]: rule for group \"g\": kind is empty"},
		"bad class":        {in: "rules: [{group: g, kind: K, class: gaming, podSets: [{template: spec.template}]}]\n", wantErr: `class "gaming"`},
		"star in template": {in: "rules: [{group: g, kind: K, podSets: [{template: spec.*}]}]\n", wantErr: "only each may contain *"},
		"described twice": {in: "rules: [{group: g, kind: K, podSets: [{template: a}]}, {group: g, kind: K, podSets: [{template: b}]}]\n",
			wantErr: "rules[1] describes g/K again"},
		"not YAML": {in: "rules: [\n", wantErr: "workload rules:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rules, err := ReadRules(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(rules) != tc.want {
				t.Fatalf("got %d rules, %v; want %d", len(rules), err, tc.want)
			}
		})
	}
}

// TestRulesFileDescribesAKind: a kind from a rules file is extracted like a
// built-in one, and a rule for a built-in kind replaces it.
func TestRulesFileDescribesAKind(t *testing.T) {
	rules, err := ReadRules(strings.NewReader(`rules:
  - {group: example.com, kind: Trainer, class: training, podSets: [{each: spec.workers.*, template: template, replicas: replicas}]}
  - {group: batch, kind: Job, class: inference, podSets: [{template: spec.template, replicas: spec.parallelism}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	x, err := New(Options{Rules: WithDefaultRules(rules)})
	if err != nil {
		t.Fatal(err)
	}
	gpuSpec := map[string]any{"containers": []any{map[string]any{"name": "c", "resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": "2"}}}}}
	w, err := x.Extract(map[string]any{"apiVersion": "example.com/v1", "kind": "Trainer", "metadata": map[string]any{"name": "t"},
		"spec": map[string]any{"workers": []any{map[string]any{"replicas": 3.0, "template": map[string]any{"spec": gpuSpec}}}}}, nil)
	if err != nil || w.TotalGPUReplicas() != 3 || w.Class != Training {
		t.Fatalf("Trainer: %+v, %v", w, err)
	}
	w, err = x.Extract(map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "j"},
		"spec": map[string]any{"template": map[string]any{"spec": gpuSpec}}}, nil)
	if err != nil || w.Class != Inference {
		t.Fatalf("Job with a replaced rule: %+v, %v", w, err)
	}
	if !x.Supports("apps/v1", "Deployment") {
		t.Error("the built-in kinds are kept")
	}
}
