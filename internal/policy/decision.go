package policy

import (
	"errors"
	"fmt"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Enforcement modes (from data, per package or rule code).
const (
	// ModeEnforce denies.
	ModeEnforce = "enforce"
	// ModeWarn turns denials into warnings.
	ModeWarn = "warn"
	// ModeDryRun records denials (and restrictions) without acting on them.
	ModeDryRun = "dryrun"
)

// Finding is one deny or warn result of a rule.
type Finding struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
	// Policy is the package that produced it, e.g. quartermaster.access.
	Policy string `json:"policy"`
	// Mode is the enforcement mode that applied to it.
	Mode string `json:"mode,omitempty"`
}

// Decision is the result of evaluating a bundle on one input.
type Decision struct {
	// Exempt is true when the namespace is exempt: nothing was evaluated.
	Exempt bool `json:"exempt,omitempty"`
	// Violations are denials of rules in enforce mode.
	Violations []Finding `json:"violations,omitempty"`
	// Warnings are warn results and denials of rules in warn mode.
	Warnings []Finding `json:"warnings,omitempty"`
	// DryRun are what rules in dryrun mode would have denied or restricted.
	DryRun []Finding `json:"dryRun,omitempty"`
	// Restrictions are the intersected restrict and require results; nil
	// when no rule restricted anything.
	Restrictions *costing.Restrictions `json:"restrictions,omitempty"`
	// Revision identifies the bundle that decided.
	Revision string `json:"revision"`
}

// Denied reports whether any enforced rule denies.
func (d *Decision) Denied() bool { return len(d.Violations) > 0 }

// EvalError is a failure to evaluate policy: a runtime error in Rego (e.g. a
// conflict in a complete rule), a malformed result, or a cancelled context.
// Callers fail closed on it.
type EvalError struct {
	Revision string
	Err      error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("evaluating policy bundle %s: %v", e.Revision, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// IsEvalError reports whether err is (or wraps) an *EvalError.
func IsEvalError(err error) bool {
	var ee *EvalError
	return errors.As(err, &ee)
}
