package features

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/features/steps"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/policies"
)

// TestBrokenResidencyPolicyFailsItsScenarios shows that the features guard
// the policy library: a copy of it whose residency package allows
// everything (its deny and restrict rules renamed, so that they no longer
// count), loaded through the same loader as the binaries, must make the
// residency scenarios fail, and only scenarios about residency.
//
//	go test ./features -run TestBrokenResidencyPolicy -v   (make features-broken-policy)
//
// lists the scenarios that failed and why.
// residencyStep picks the steps that say what a scenario is about, for the
// list of failures.
var residencyStep = regexp.MustCompile(`must stay in|classified|reads the dataset|pins region|residency`)

func TestBrokenResidencyPolicyFailsItsScenarios(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, policies.FS()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "residency", "residency.rego")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := regexp.MustCompile(`(?m)^(deny|restrict) contains`).ReplaceAll(src, []byte("${1}_disabled contains"))
	if string(broken) == string(src) {
		t.Fatal("the residency package has no deny or restrict rule to break")
	}
	if err := os.WriteFile(file, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	// The webhook's loader would refuse this bundle, since the package's
	// own tests fail; the features must catch it even when loaded without
	// them (policy.Load, as for the embedded library).
	if _, err := policy.LoadDir(context.Background(), dir, policy.Options{}); err == nil {
		t.Error("policy.LoadDir accepted a residency package that allows everything")
	} else {
		t.Logf("policy.LoadDir refuses the broken bundle: %.200s…", err)
	}

	tally := &tally{}
	residency := map[string]bool{} // scenario id → whether its steps are about residency
	o := opts
	o.Output, o.Format = discard{}, "progress"
	hooks := steps.NewHooks(steps.Options{Policies: os.DirFS(dir)}) // one bundle for every scenario
	status := godog.TestSuite{
		Name: "broken-residency",
		ScenarioInitializer: initializer(func(sc *godog.ScenarioContext) {
			hooks.Register(sc)
			sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
				residency[s.Id] = slices.ContainsFunc(s.Steps, func(st *godog.Step) bool {
					return strings.Contains(st.Text, "must stay in") || strings.Contains(st.Text, "residency")
				})
				return ctx, nil
			})
		}, tally),
		Options: &o,
	}.Run()
	if status == 0 || len(tally.failed) == 0 {
		t.Fatalf("every scenario passed with a residency package that allows everything (%s)", tally)
	}
	t.Logf("with the broken residency package: %s", tally)
	for _, f := range tally.failed {
		var given []string // what the scenario says about residency
		for _, s := range f.steps {
			if residencyStep.MatchString(s) {
				given = append(given, s)
			}
		}
		t.Logf("FAILED %s: %s [%s]\n    %s", f.uri, f.name, strings.Join(given, "; "), f.err)
	}
	// Only scenarios about residency may fail: anything else failing
	// means the features depend on residency where they say they do not.
	for _, f := range tally.failed {
		if !residency[f.id] {
			t.Errorf("%s: %s failed but is not about residency: %s", f.uri, f.name, f.err)
		}
	}
	if !slices.ContainsFunc(tally.failed, func(f failure) bool { return strings.HasSuffix(f.uri, "data_residency.feature") }) {
		t.Error("no scenario of data_residency.feature failed")
	}
}
