package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/policies"
)

// testOptions are qm test's flags.
type testOptions struct {
	coverageMin float64
	verbose     bool
	noLint      bool
	output      string
}

// newTestCommand is qm test (contract 4.5): a policy bundle's own tests,
// coverage, format and strict checks, as a policy author's CI runs them.
func newTestCommand(s streams) *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the Rego tests of a policy bundle, with coverage, format and strict checks",
		Long: `test loads a policy bundle (default: the embedded library) as the webhook does, then
runs what a policy author's CI needs, with OPA's own tester:
  - opa fmt: every .rego file must be in canonical format;
  - opa check --strict: no unused variables, imports or arguments;
  - opa test --coverage: every *_test.rego test must pass, and with
    --coverage-min the policy files' line coverage must reach it.
It exits 1 when anything fails.`,
		Example: `  qm test policies/rego --coverage-min 90
  qm test ./my-policies -v`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runTest(cmd.Context(), s, &o, args) },
	}
	fs := cmd.Flags()
	fs.Float64Var(&o.coverageMin, "coverage-min", 0, "fail when line coverage of the policy files is below this percentage")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "list every test and the uncovered lines")
	fs.BoolVar(&o.noLint, "no-lint", false, "skip the format and strict checks")
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// runTest loads the bundle as the webhook would and runs OPA's tester on
// it; a lint problem fails like a failed test, since the webhook's own
// bundle checks refuse both.
func runTest(ctx context.Context, s streams, o *testOptions, args []string) error {
	if o.output != "text" && o.output != "json" {
		return &exitError{exitInput, fmt.Errorf("output %q: want text or json", o.output)}
	}
	var fsys fs.FS = policies.FS()
	where := "embedded policy library"
	if len(args) == 1 {
		fsys, where = os.DirFS(args[0]), args[0]
	}
	files, err := policy.ReadFiles(fsys)
	if err != nil {
		return &exitError{exitInput, err}
	}
	b, err := policy.LoadFiles(ctx, files, policy.Options{})
	if err != nil {
		return &exitError{exitInput, fmt.Errorf("%s: %w", where, err)}
	}
	var problems []string
	if !o.noLint {
		problems = b.Lint(files)
	}
	rep, err := b.RunTests(ctx)
	if err != nil {
		return &exitError{exitInput, fmt.Errorf("%s: %w", where, err)}
	}
	failed := rep.Failed()
	lowCoverage := o.coverageMin > 0 && rep.Coverage < o.coverageMin
	if o.output == "json" {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Bundle   string   `json:"bundle"`
			Revision string   `json:"revision"`
			Problems []string `json:"problems,omitempty"`
			*policy.TestReport
		}{where, b.Revision(), problems, rep}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(s.out, "LINT", p)
		}
		for _, t := range rep.Results {
			switch {
			case !t.Pass:
				fmt.Fprintf(s.out, "FAIL %s (%s): %s\n", t.Name, t.File, t.Detail)
				if t.Output != "" {
					fmt.Fprintf(s.out, "     output: %s\n", t.Output)
				}
			case o.verbose:
				fmt.Fprintf(s.out, "PASS %s\n", t.Name)
			}
		}
		if o.verbose {
			files := make([]string, 0, len(rep.Files))
			for f := range rep.Files {
				files = append(files, f)
			}
			sort.Strings(files)
			for _, f := range files {
				fmt.Fprintf(s.out, "coverage %6.2f%%  %s\n", rep.Files[f], f)
			}
			for _, u := range rep.Uncovered {
				fmt.Fprintf(s.out, "not covered: %s\n", u)
			}
		}
		fmt.Fprintf(s.out, "%s (revision %s): %d/%d tests passed, coverage %.2f%%, %d lint problems\n",
			where, b.Revision(), len(rep.Results)-len(failed), len(rep.Results), rep.Coverage, len(problems))
	}
	switch {
	case len(failed) > 0:
		return &exitError{exitInput, fmt.Errorf("%d policy tests failed", len(failed))}
	case len(problems) > 0:
		return &exitError{exitInput, fmt.Errorf("%d lint problems (opa fmt / opa check --strict)", len(problems))}
	case lowCoverage:
		return &exitError{exitInput, fmt.Errorf("coverage %.2f%% is below --coverage-min %.2f%%", rep.Coverage, o.coverageMin)}
	case len(rep.Results) == 0:
		return &exitError{exitInput, fmt.Errorf("%s has no tests (files ending in _test.rego)", where)}
	}
	return nil
}
