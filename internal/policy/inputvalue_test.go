package policy

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// Rules see the fields they name whatever else the bundle reads: leaving
// unread fields out of the input must be invisible to every way of reading.
func TestInputFieldsRulesSee(t *testing.T) {
	tests := map[string]struct {
		rule string
		all  bool
		keys []string
	}{
		"a named field": {
			rule: `deny contains {"code": "c", "msg": "m"} if input.object.kind == "Pod"`,
			keys: []string{"object"},
		},
		"an imported field": {
			rule: "import input.object as obj\n\n" + `deny contains {"code": "c", "msg": "m"} if obj.kind == "Pod"`,
			keys: []string{"object"},
		},
		"input[k]": {
			rule: `deny contains {"code": "c", "msg": "m"} if { some k; input[k].kind == "Pod" }`,
			all:  true,
		},
		"object.get(input, ...)": {
			rule: `deny contains {"code": "c", "msg": "m"} if object.get(input, ["object", "kind"], "") == "Pod"`,
			all:  true,
		},
		"walk(input)": {
			rule: `deny contains {"code": "c", "msg": "m"} if { walk(input, [_, v]); v == "Pod" }`,
			all:  true,
		},
		"a helper rule": {
			rule: "kind := input.object.kind\n\n" + `deny contains {"code": "c", "msg": "m"} if kind == "Pod"`,
			keys: []string{"object"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := mustLoad(t, map[string]string{"t.rego": "package quartermaster.t\n\n" + tc.rule + "\n"})
			if b.fields.all != tc.all || !tc.all && !reflect.DeepEqual(sortedKeys(b.fields.keys), tc.keys) {
				t.Errorf("fields = %+v, want all %v keys %v", b.fields, tc.all, tc.keys)
			}
			in := teamInput("x", "ml")
			in.Object = map[string]any{"kind": "Pod"}
			d, err := b.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Denied() {
				t.Errorf("the rule did not see input.object: %+v", d)
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The default library never reads the raw object, so it is never converted.
func TestLibraryInputLeavesObjectOut(t *testing.T) {
	b := loadLibrary(t)
	e, err := b.Evaluate(context.Background(), typicalInput())
	if err != nil {
		t.Fatal(err)
	}
	obj := ast.NewObject(e.input...)
	if obj.Get(ast.StringTerm("object")) != nil {
		t.Errorf("input.object converted although no rule reads it")
	}
	for _, k := range []string{"request", "workload", "evidence"} {
		if obj.Get(ast.StringTerm(k)) == nil {
			t.Errorf("input.%s missing", k)
		}
	}
}

const budgetLike = `package quartermaster.b

deny contains {"code": "b-over", "msg": input.workload.team} if input.placement.pricePerHour > 10
`

// Phase two judges the placement it is given with phase one's input and
// phase one's bundle: the input is converted once, Placed can run more than
// once without one placement leaking into the next, and changing the Input
// after phase one changes nothing (the Evaluation holds its own conversion).
func TestPlacedUsesPhaseOne(t *testing.T) {
	b := mustLoad(t, map[string]string{"b.rego": budgetLike})
	ctx := context.Background()
	in := teamInput("x", "ml")
	e, err := b.Evaluate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Workload.Team = "y" // after phase one: not seen by phase two
	for _, tc := range []struct {
		price float64
		want  []string
	}{{20, []string{"x"}}, {5, nil}, {30, []string{"x"}}} {
		d, err := e.Placed(ctx, &placement.Placement{PricePerHour: tc.price})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range d.Violations {
			got = append(got, v.Msg)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("price %v: violations %v, want %v", tc.price, got, tc.want)
		}
	}
}

// Restrict elements may give allowed as a set as well as a list.
func TestRestrictAllowedSet(t *testing.T) {
	b := mustLoad(t, map[string]string{"t.rego": "package quartermaster.t\n\n" +
		`restrict contains {"field": "region", "allowed": {"b", "a"}, "reason": "r"} if true` + "\n"})
	d, err := b.Evaluate(context.Background(), teamInput("x", "ml"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Restrictions == nil || !reflect.DeepEqual(d.Restrictions.Regions, []string{"a", "b"}) {
		t.Errorf("restrictions %+v, want regions [a b]", d.Restrictions)
	}
}

// Below the top level too, only what rules name is converted: a field read
// by name, and of the elements of a list they iterate, what they read.
func TestInputFieldsNested(t *testing.T) {
	b := mustLoad(t, map[string]string{"t.rego": "package quartermaster.t\n\n" +
		`deny contains {"code": "c", "msg": concat(" ", [input.workload.team, input.object.metadata.name, ps.name])} if some ps in input.workload.podSets` + "\n"})
	in := teamInput("x", "ml")
	in.Workload.Kind = "Job"
	in.Workload.PodSets = []PodSet{{Name: "w", Images: []string{"i"}}}
	in.Object = map[string]any{"kind": "Job", "metadata": map[string]any{"name": "j", "uid": "u"}}
	e, err := b.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	v := ast.NewObject(e.input...)
	for path, want := range map[string]bool{
		"workload.team":              true,
		"workload.podSets[0].name":   true,
		"object.metadata.name":       true,
		"workload.podSets[0].images": false,
		"workload.kind":              false,
		"object.kind":                false,
		"object.metadata.uid":        false,
		"namespace":                  false,
	} {
		ref := ast.MustParseRef("input." + path)
		_, err := v.Find(ref[1:])
		if got := err == nil; got != want {
			t.Errorf("input.%s converted: %v, want %v", path, got, want)
		}
	}
	d, err := b.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Violations) != 1 || d.Violations[0].Msg != "x j w" {
		t.Errorf("violations %+v, want one: x j w", d.Violations)
	}
}

// However rules use what they iterate, they see it as if the whole input
// were converted.
func TestInputSelectionInvisible(t *testing.T) {
	tests := map[string]struct{ rule, want string }{
		"an unused iteration variable": {
			rule: `deny contains {"code": "c", "msg": sprintf("%d", [count([1 | some ps in input.workload.podSets])])} if true`,
			want: "2",
		},
		"an element passed to a function": {
			rule: "first_image(ps) := ps.images[0]\n\n" +
				`deny contains {"code": "c", "msg": first_image(ps)} if { some ps in input.workload.podSets; ps.name == "a" }`,
			want: "x",
		},
		"an element read whole": {
			rule: `deny contains {"code": "c", "msg": sprintf("%d", [count(object.keys(ps))])} if { some ps in input.workload.podSets; ps.name == "b" }`,
			want: "9", // name, replicas, gpusPerReplica, cpuMilli, memoryBytes, serviceAccount, hostNetwork, hostPID, privileged
		},
		"nested iteration": {
			rule: `deny contains {"code": "c", "msg": v.name} if { some ps in input.workload.podSets; some v in ps.volumes; v.kind == "hostPath" }`,
			want: "v",
		},
		"every": {
			rule: `deny contains {"code": "c", "msg": "all named"} if every ps in input.workload.podSets { ps.name != "" }`,
			want: "all named",
		},
		"an element bound to another variable": {
			rule: `deny contains {"code": "c", "msg": x.images[0]} if { some ps in input.workload.podSets; x := ps; x.name == "a" }`,
			want: "x",
		},
		"a key from a variable": {
			rule: `deny contains {"code": "c", "msg": input.workload.podSets[i].images[0]} if { some i; input.workload.podSets[i].name == "a" }`,
			want: "x",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := mustLoad(t, map[string]string{"t.rego": "package quartermaster.t\n\n" + tc.rule + "\n"})
			in := teamInput("x", "ml")
			in.Workload.PodSets = []PodSet{
				{Name: "a", Images: []string{"x"}, Volumes: []Volume{{Name: "v", Kind: "hostPath"}}},
				{Name: "b"},
			}
			d, err := b.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Violations) != 1 || d.Violations[0].Msg != tc.want {
				t.Errorf("violations %+v, want one with msg %q", d.Violations, tc.want)
			}
		})
	}
}
