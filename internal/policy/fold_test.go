package policy

import (
	"context"
	"errors"
	"testing"
)

// foldPolicy has a data-only table (folds), a rule reading the input (does
// not), one calling a non-deterministic built-in (does not), one whose
// evaluation fails (does not, and still fails the request closed), and a
// set-valued table, which must stay a set.
const foldPolicy = `package quartermaster.f

caps := {t: v | some t, c in data.config.teams; v := 2 * c.cap}

mine := caps[input.workload.team]

clock := time.now_ns()

broken := to_number(data.config.odd.value)

models := {t: {m | some m in c.models} | some t, c in data.config.teams}

deny contains {"code": "f-cap", "msg": sprintf("cap %v", [mine])} if mine > 10

deny contains {"code": "f-clock", "msg": "no clock"} if clock < 0

deny contains {"code": "f-broken", "msg": "broken"} if {
	input.workload.team == "broken"
	broken > 0
}

warn contains {"code": "f-models", "msg": concat(",", models[input.workload.team])} if count(models[input.workload.team]) > 0
`

const foldTeams = `
a: {cap: 4, models: [L4, H100, L4]}
b: {cap: 1}
c: {cap: 6}
`

func TestFoldInputFreeRules(t *testing.T) {
	b := mustLoad(t, map[string]string{"f/f.rego": foldPolicy, "data/teams.yaml": foldTeams, "data/odd.yaml": "value: x\n"})
	// caps and models; not mine (input), clock (non-deterministic) nor
	// broken (an error at load).
	if b.folded != 2 {
		t.Errorf("folded %d rules, want 2 (caps, models)", b.folded)
	}
	ctx := context.Background()
	tests := map[string]struct {
		team       string
		violations []string
		warning    string
		err        bool
	}{
		"under the cap":    {team: "a", warning: "H100,L4"},
		"over the cap":     {team: "c", violations: []string{"f-cap"}},
		"unknown team":     {team: "z"},
		"error at request": {team: "broken", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := b.Evaluate(ctx, teamInput(tc.team, "ns"))
			var evalErr *EvalError
			if tc.err {
				if !errors.As(err, &evalErr) {
					t.Fatalf("want an EvalError (fail closed), got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := codes(d.Violations); len(got) != len(tc.violations) || len(got) > 0 && got[0] != tc.violations[0] {
				t.Errorf("violations %v, want %v", got, tc.violations)
			}
			var msg string
			if len(d.Warnings) == 1 {
				msg = d.Warnings[0].Msg
			}
			if msg != tc.warning {
				t.Errorf("warning %q, want %q", msg, tc.warning)
			}
		})
	}
}

// A policy that overrides data with `with` could see a folded rule's value
// change within one evaluation: nothing is folded then.
func TestFoldSkipsWith(t *testing.T) {
	b := mustLoad(t, map[string]string{"f/f.rego": `package quartermaster.f

limit := data.config.limits.max

over if input.workload.totalGPUs > limit

deny contains {"code": "f", "msg": "over"} if over with data.config.limits.max as 1
`, "data/limits.yaml": "max: 8\n"})
	if b.folded != 0 {
		t.Errorf("folded %d rules, want 0", b.folded)
	}
	d, err := b.Evaluate(context.Background(), &Input{Workload: Workload{TotalGPUs: 2}})
	if err != nil || len(d.Violations) != 1 {
		t.Fatalf("decision %+v, error %v: want the deny of the with-modified limit", d, err)
	}
}
