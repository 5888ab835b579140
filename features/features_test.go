// Package features runs the Gherkin features in this folder with godog: the
// executable specification of Quartermaster's behaviour.
package features

import (
	"testing"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/features/steps"
)

func TestFeatures(t *testing.T) {
	suite := godog.TestSuite{
		Name:                "quartermaster",
		ScenarioInitializer: steps.Register,
		Options: &godog.Options{
			Format:   "progress",
			Paths:    []string{"."},
			NoColors: true,
			Strict:   true, // undefined or pending steps fail the run
			TestingT: t,
		},
	}
	if suite.Run() != 0 {
		t.Fatal("feature scenarios failed")
	}
}
