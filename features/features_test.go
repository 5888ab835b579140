// Package features runs the Gherkin features in this folder with godog: the
// executable specification of Quartermaster's behaviour.
//
// TestMain runs every scenario once, strictly (an undefined or pending step
// fails the run), and prints godog's summary with the scenario count; then
// the Go tests below check the specification itself. godog's own flags are
// bound with the prefix godog., so that, for example,
//
//	go test ./features -args -godog.format=cucumber:$PWD/bin/features.json
//
// writes the results as cucumber JSON (make features-report).
package features

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/features/steps"
)

var opts = godog.Options{
	Format: "progress",
	Paths:  []string{"."},
	// @cluster scenarios need the local control plane: the e2e suite runs
	// them (test/e2e/features_test.go, in make e2e).
	Tags:     "~@cluster",
	Strict:   true, // undefined or pending steps fail the run
	NoColors: true,
}

func init() { godog.BindFlags("godog.", flag.CommandLine, &opts) }

func TestMain(m *testing.M) {
	flag.Parse()
	tally := &tally{}
	status := godog.TestSuite{
		Name:                "quartermaster",
		ScenarioInitializer: initializer(steps.RegisterHooks, tally),
		Options:             &opts,
	}.Run()
	fmt.Printf("features: %s\n", tally)
	if n := clusterScenarios(); n > 0 && opts.Tags == "~@cluster" {
		fmt.Printf("features: %d @cluster scenarios left out here: they need the local control plane and run in make e2e (test/e2e)\n", n)
	}
	if tally.total() == 0 && !opts.ShowStepDefinitions {
		fmt.Println("features: no scenario ran")
		status = 1
	}
	if st := m.Run(); st > status {
		status = st
	}
	os.Exit(status)
}

// initializer wires the steps and hooks, and a tally of the results.
func initializer(hooks func(*godog.ScenarioContext), t *tally) func(*godog.ScenarioContext) {
	return func(sc *godog.ScenarioContext) {
		hooks(sc)
		steps.RegisterSteps(sc)
		sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, _ error) (context.Context, error) {
			if status == godog.StepSkipped {
				t.skip(st.Id)
			}
			return ctx, nil
		})
		sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
			t.add(s, err)
			return ctx, nil
		})
	}
}

// tally counts scenarios and keeps the failed ones with their errors.
type tally struct {
	mu      sync.Mutex
	passed  int
	skipped int
	failed  []failure
	// skippedSteps are the ids of the steps that were skipped: a scenario
	// whose steps all were (a @cluster one without a cluster) is skipped,
	// though godog hands its After hook no error.
	skippedSteps map[string]bool
}

func (t *tally) skip(stepID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.skippedSteps == nil {
		t.skippedSteps = map[string]bool{}
	}
	t.skippedSteps[stepID] = true
}

type failure struct {
	id, uri, name, err string
	steps              []string
}

func (t *tally) add(s *godog.Scenario, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	allSkipped := len(s.Steps) > 0 && !slices.ContainsFunc(s.Steps, func(st *godog.Step) bool { return !t.skippedSteps[st.Id] })
	switch {
	case errors.Is(err, godog.ErrSkip), err == nil && allSkipped:
		t.skipped++
		return
	case err == nil:
		t.passed++
		return
	}
	f := failure{id: s.Id, uri: s.Uri, name: s.Name, err: err.Error()}
	for _, st := range s.Steps {
		f.steps = append(f.steps, st.Text)
	}
	t.failed = append(t.failed, f)
}

func (t *tally) total() int { return t.passed + t.skipped + len(t.failed) }

func (t *tally) String() string {
	return fmt.Sprintf("%d scenarios, %d passed, %d skipped, %d failed", t.total(), t.passed, t.skipped, len(t.failed))
}

// clusterScenarios counts the scenarios tagged @cluster.
func clusterScenarios() int {
	features, err := godog.TestSuite{Options: &godog.Options{Paths: []string{"."}}}.RetrieveFeatures()
	if err != nil {
		return 0
	}
	n := 0
	for _, f := range features {
		for _, p := range f.Pickles {
			for _, t := range p.Tags {
				if t.Name == "@cluster" {
					n++
				}
			}
		}
	}
	return n
}

// TestEveryStepIsUsed fails when a step definition matches no step of any
// scenario (dead specification code), and when a step matches more than one
// definition (godog would silently take the first).
func TestEveryStepIsUsed(t *testing.T) {
	features, err := godog.TestSuite{Options: &godog.Options{Paths: []string{"."}}}.RetrieveFeatures()
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, f := range features {
		for _, p := range f.Pickles {
			for _, s := range p.Steps {
				texts = append(texts, s.Text)
			}
		}
	}
	if len(texts) == 0 {
		t.Fatal("no steps found in the features")
	}
	patterns := steps.Patterns()
	res := make([]*regexp.Regexp, len(patterns))
	used := make([]int, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	for _, text := range texts {
		var matched []string
		for i, re := range res {
			if re.MatchString(text) {
				used[i]++
				matched = append(matched, patterns[i])
			}
		}
		if len(matched) > 1 {
			t.Errorf("step %q matches %d definitions: %q", text, len(matched), matched)
		}
	}
	for i, n := range used {
		if n == 0 {
			t.Errorf("step definition %s is used by no scenario", patterns[i])
		}
	}
	t.Logf("%d step definitions, %d steps in scenarios", len(patterns), len(texts))
}

// TestStrictModeRefusesUndefinedAndPendingSteps proves the guard TestMain
// relies on: a scenario with a step no definition matches, or one whose
// definition is pending, fails the run.
func TestStrictModeRefusesUndefinedAndPendingSteps(t *testing.T) {
	for name, feature := range map[string]string{
		"undefined": "Feature: x\n  Scenario: y\n    Given a step nobody wrote\n",
		"pending":   "Feature: x\n  Scenario: y\n    Given a pending step\n",
	} {
		t.Run(name, func(t *testing.T) {
			o := opts
			o.Paths, o.Output, o.Format = nil, discard{}, "progress"
			o.FeatureContents = []godog.Feature{{Name: name + ".feature", Contents: []byte(feature)}}
			status := godog.TestSuite{
				ScenarioInitializer: func(sc *godog.ScenarioContext) {
					steps.RegisterSteps(sc)
					sc.Step(`^a pending step$`, func() error { return godog.ErrPending })
				},
				Options: &o,
			}.Run()
			if status == 0 {
				t.Errorf("a %s step passed the strict run", name)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
