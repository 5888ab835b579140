package admission

import (
	"context"
	"slices"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Violation codes of the policy step itself.
const (
	// CodePolicyError: policy could not be evaluated; the evaluator fails
	// closed.
	CodePolicyError = "policy-error"
	// CodeEvidenceError: encryption or location evidence could not be
	// gathered; the evaluator fails closed.
	CodeEvidenceError = "evidence-error"
)

// PolicyEngine evaluates policy in the two phases of package policy.
// *policy.Bundle and *policy.Reloader implement it.
type PolicyEngine interface {
	// Evaluate runs phase one: violations, warnings and restrictions
	// before placement. The Evaluation's Placed runs phase two on the
	// chosen placement. A *policy.EvalError means "fail closed".
	Evaluate(ctx context.Context, in *policy.Input) (*policy.Evaluation, error)
}

// EvidenceCollector gathers encryption and location evidence;
// *encryption.Collector implements it.
type EvidenceCollector interface {
	Collect(ctx context.Context, w *workload.Workload) (*encryption.Evidence, error)
}

var (
	_ PolicyEngine      = (*policy.Bundle)(nil)
	_ PolicyEngine      = (*policy.Reloader)(nil)
	_ EvidenceCollector = (*encryption.Collector)(nil)
)

// policyInput builds the policy input of a request.
func policyInput(in *Input, w *workload.Workload, ev *encryption.Evidence) *policy.Input {
	r := in.Request
	return &policy.Input{
		Request:   policy.Request{UID: r.UID, Operation: r.Operation, Username: r.Username, Groups: r.Groups, DryRun: r.DryRun},
		Namespace: policy.Namespace{Name: w.Namespace, Labels: in.NamespaceLabels},
		Workload:  policy.NewWorkload(w),
		Evidence:  *ev,
		Object:    in.Object,
	}
}

// applyDecision copies a policy decision into the outcome: enforced
// denials become violations, warn-mode denials and warn results warnings,
// dry-run results are recorded only.
func (o *Outcome) applyDecision(d *policy.Decision) {
	o.PolicyRevision = d.Revision
	if d.Exempt {
		o.Exempt = true
		return
	}
	for _, f := range d.Violations {
		o.Allowed = false
		o.Violations = append(o.Violations, Violation{Code: f.Code, Msg: f.Msg, Policy: f.Policy})
	}
	for _, f := range d.Warnings {
		o.Warnings = append(o.Warnings, f.Code+": "+f.Msg)
	}
	for _, f := range d.DryRun {
		o.DryRun = append(o.DryRun, Violation{Code: f.Code, Msg: f.Msg, Policy: f.Policy})
	}
}

// mergeRestrictions intersects the caller's restrictions with policy's,
// keeping every reason, without modifying either.
func mergeRestrictions(base, pol *costing.Restrictions) *costing.Restrictions {
	if pol == nil {
		return base
	}
	out := &costing.Restrictions{}
	if base != nil {
		out = &costing.Restrictions{
			Clouds: slices.Clone(base.Clouds), Regions: slices.Clone(base.Regions),
			Jurisdictions: slices.Clone(base.Jurisdictions), CapacityTypes: slices.Clone(base.CapacityTypes),
			GPUModels: slices.Clone(base.GPUModels), Capabilities: slices.Clone(base.Capabilities),
			Reasons: slices.Clone(base.Reasons),
		}
	}
	for _, r := range pol.Reasons {
		if r.Field == costing.FieldCapability {
			for _, c := range r.Allowed {
				out.Require(c, r.Reason, r.Policy)
			}
			continue
		}
		out.Restrict(r.Field, r.Allowed, r.Reason, r.Policy)
	}
	return out
}
