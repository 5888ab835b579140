package policy

import (
	"context"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// MayAudit reads the guards rules start with, and admits every resource
// where it cannot read one.
func TestMayAudit(t *testing.T) {
	const head = `deny contains {"code": "c", "msg": "m"} if {`
	type probe struct {
		kind   string
		labels map[string]string
		want   bool
	}
	residency := map[string]string{"quartermaster.io/residency": "eu"}
	tests := map[string]struct {
		rules  string
		probes []probe
	}{
		"kind equal": {head + `input.resource.kind == "Key"; input.resource.key.state == "disabled"}`,
			[]probe{{"Key", nil, true}, {"Pod", nil, false}}},
		"kind equal, constant first": {head + `"Key" == input.resource.kind}`,
			[]probe{{"Key", nil, true}, {"Disk", nil, false}}},
		"kind unified": {head + `input.resource.kind = "Key"}`,
			[]probe{{"Key", nil, true}, {"Disk", nil, false}}},
		"kind in a set": {head + `input.resource.kind in {"Disk", "Bucket"}}`,
			[]probe{{"Disk", nil, true}, {"Bucket", nil, true}, {"Key", nil, false}}},
		"two kind tests intersect": {head + `input.resource.kind in {"Disk", "Bucket"}; input.resource.kind == "Bucket"}`,
			[]probe{{"Bucket", nil, true}, {"Disk", nil, false}}},
		"label required": {head + `input.resource.labels["quartermaster.io/residency"]}`,
			[]probe{{"Pod", residency, true}, {"Pod", map[string]string{"team": "a"}, false}, {"Disk", nil, false}}},
		"kind and label": {head + `input.resource.kind == "Bucket"; input.resource.labels["quartermaster.io/residency"]}`,
			[]probe{{"Bucket", residency, true}, {"Bucket", nil, false}, {"Disk", residency, false}}},
		"one rule per kind": {head + `input.resource.kind == "Key"}` + "\n" + head + `input.resource.kind == "Disk"}`,
			[]probe{{"Key", nil, true}, {"Disk", nil, true}, {"Pod", nil, false}}},
		"negated test is no guard": {head + `not input.resource.kind == "Key"}`,
			[]probe{{"Key", nil, true}, {"Pod", nil, true}}},
		"kind through a helper is no guard": {`k := input.resource.kind` + "\n" + head + `k == "Key"}`,
			[]probe{{"Pod", nil, true}}},
		"kind from a variable is no guard": {head + `some k in ["Key"]; input.resource.kind == k}`,
			[]probe{{"Pod", nil, true}}},
		"with is no guard": {head + `input.resource.kind == "Key" with input.resource.kind as "Key"}`,
			[]probe{{"Pod", nil, true}}},
		"an unguarded rule admits all": {head + `input.resource.kind == "Key"}` + "\n" + head + `input.resource.id == "x"}`,
			[]probe{{"Pod", nil, true}}},
		"import alias is no guard": {"import input.resource as r\n" + head + `r.kind == "Key"}`,
			[]probe{{"Key", nil, true}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := LoadFiles(context.Background(), map[string][]byte{
				"a.rego": []byte("package quartermaster.audit.t\n\n" + tc.rules + "\n"),
				"p.rego": []byte(denyAll),
			}, Options{Regions: costing.DefaultRegions()})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.probes {
				if got := b.MayAudit(p.kind, p.labels); got != p.want {
					t.Errorf("MayAudit(%s, %v) = %v, want %v", p.kind, p.labels, got, p.want)
				}
			}
		})
	}
}

// The default library judges kinds, and residency-labelled resources of any
// kind: pods, nodes and GPU metrics without that label are skipped.
func TestMayAuditDefaultLibrary(t *testing.T) {
	b := loadLibrary(t)
	for _, kind := range []string{"Disk", "Snapshot", "VolumeClaim", "Bucket", "Key", "Instance"} {
		if !b.MayAudit(kind, nil) {
			t.Errorf("%s skipped", kind)
		}
	}
	for _, kind := range []string{"Pod", "GPUUsage", "Node", "Namespace", "Workload", "VolumeSnapshot"} {
		if b.MayAudit(kind, map[string]string{"team": "a"}) {
			t.Errorf("%s judged", kind)
		}
		if !b.MayAudit(kind, map[string]string{"quartermaster.io/residency": "eu"}) {
			t.Errorf("%s with a residency label skipped", kind)
		}
	}
}
