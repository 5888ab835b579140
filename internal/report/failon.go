package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// FailsOn reports whether r has a finding at severity or above it (the
// auditor's --fail-on: a CI job or a CronJob's alert fails on it). A
// severity that is not one of policy.Severities is an error naming them,
// rather than a threshold that never trips.
func FailsOn(r *Report, severity string) (bool, error) {
	limit := slices.Index(policy.Severities, severity)
	if limit < 0 {
		return false, fmt.Errorf("--fail-on %q: want one of %s", severity, strings.Join(policy.Severities, ", "))
	}
	for _, f := range r.Findings {
		if i := slices.Index(policy.Severities, f.Severity); i >= 0 && i <= limit {
			return true, nil
		}
	}
	return false, nil
}
