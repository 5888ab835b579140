package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestReport is the outcome of running a bundle's Rego tests.
type TestReport struct {
	Results []TestResult `json:"results"`
	// Coverage is the percentage of policy (non-test) lines the tests
	// evaluate, as `opa test --coverage` counts them; Files breaks it down.
	Coverage float64            `json:"coverage"`
	Files    map[string]float64 `json:"files,omitempty"`
	// Uncovered lists file:line ranges no test reached.
	Uncovered []string `json:"uncovered,omitempty"`
}

// TestResult is one test rule.
type TestResult struct {
	Name   string `json:"name"` // data.pkg.test_x
	File   string `json:"file"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail,omitempty"`
	Output string `json:"output,omitempty"`
}

// Failed names the tests that did not pass.
func (r *TestReport) Failed() []string {
	var out []string
	for _, t := range r.Results {
		if !t.Pass {
			out = append(out, t.Name)
		}
	}
	return out
}

// RunTests runs the bundle's *_test.rego tests with OPA's tester, over the
// same data the bundle evaluates with (the region table included), and
// measures coverage of the policy modules.
func (b *Bundle) RunTests(ctx context.Context) (*TestReport, error) { return b.runTests(ctx, true) }

func (b *Bundle) runTests(ctx context.Context, coverage bool) (*TestReport, error) {
	compiler, mods, err := b.compile(true, false)
	if err != nil {
		return nil, err
	}
	var cov *cover.Cover
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(b.store()).
		SetModules(mods).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true).
		SetDefaultRegoVersion(ast.RegoV1)
	if coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("running policy tests: %w", err)
	}
	rep := &TestReport{}
	for r := range ch {
		t := TestResult{Name: r.Package + "." + r.Name, Pass: r.Pass(), Output: string(r.Output)}
		if r.Location != nil {
			t.File = r.Location.File
		}
		switch {
		case r.Error != nil:
			t.Detail = r.Error.Error()
		case r.Fail && r.FailedAt != nil:
			t.Detail = "failed at " + r.FailedAt.Location.String() + ": " + r.FailedAt.String()
		case r.Fail:
			t.Detail = "failed"
		}
		rep.Results = append(rep.Results, t)
	}
	sort.Slice(rep.Results, func(i, j int) bool { return rep.Results[i].Name < rep.Results[j].Name })
	if cov != nil {
		policyMods := map[string]*ast.Module{}
		for k := range b.modules {
			policyMods[k] = mods[k]
		}
		cr := cov.Report(policyMods)
		rep.Coverage = cr.Coverage
		rep.Files = map[string]float64{}
		for f, fr := range cr.Files {
			rep.Files[f] = fr.Coverage
			for _, nc := range fr.NotCovered {
				rep.Uncovered = append(rep.Uncovered, fmt.Sprintf("%s:%d-%d", f, nc.Start.Row, nc.End.Row))
			}
		}
		sort.Strings(rep.Uncovered)
	}
	return rep, nil
}

// Lint reports what `opa fmt --fail` and `opa check --strict` would: files
// not in canonical format, and strict-mode compile errors (unused
// variables, imports and arguments, shadowed names, deprecated built-ins).
func (b *Bundle) Lint(files map[string][]byte) []string {
	var problems []string
	names := make([]string, 0, len(files))
	for n := range files {
		if strings.HasSuffix(n, ".rego") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		formatted, err := format.SourceWithOpts(n, files[n], format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: formatting: %v", n, err))
			continue
		}
		if string(formatted) != string(files[n]) {
			problems = append(problems, n+": not formatted as opa fmt would")
		}
	}
	if _, _, err := b.compile(true, true); err != nil {
		problems = append(problems, "strict check: "+err.Error())
	}
	return problems
}
