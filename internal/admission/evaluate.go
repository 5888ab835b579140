package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Violation codes the evaluator itself produces; policy codes come from Rego.
const (
	CodeInvalidWorkload     = "invalid-workload"
	CodeInvalidAnnotation   = "invalid-annotation"
	CodeNoFeasiblePlacement = "no-feasible-placement"
	CodePinForbidden        = "pin-forbidden"
)

// Evaluator makes admission decisions. Build it once; it holds compiled
// rules and an indexed catalog and is safe for concurrent use.
type Evaluator struct {
	extractor *workload.Extractor
	placer    *placement.Placer
	policy    PolicyEngine
	evidence  EvidenceCollector
	prov      placement.Provisioner
}

// Deps are the Evaluator's collaborators, wired by the binaries.
type Deps struct {
	Extractor *workload.Extractor
	Placer    *placement.Placer
	// Policy, when set, is evaluated on every GPU workload; nil admits
	// everything placement can place.
	Policy PolicyEngine
	// Evidence gathers encryption evidence for policy; nil means nothing
	// is known (every volume and dataset "unknown").
	Evidence EvidenceCollector
	// Provisioner, when set, is the provisionable filter: offers the
	// cluster has no node or node pool for are not candidates.
	Provisioner placement.Provisioner
}

// NewEvaluator checks and wires its dependencies.
func NewEvaluator(d Deps) (*Evaluator, error) {
	if d.Extractor == nil || d.Placer == nil {
		return nil, errors.New("admission evaluator: extractor and placer are required")
	}
	ev := d.Evidence
	if ev == nil {
		ev = &encryption.Collector{}
	}
	return &Evaluator{extractor: d.Extractor, placer: d.Placer, policy: d.Policy, evidence: ev, prov: d.Provisioner}, nil
}

// Input is one object to decide on.
type Input struct {
	// ID identifies the decision (the admission request UID in the webhook).
	ID     string
	Object map[string]any
	// Request describes who asks and how; zero for offline evaluation.
	Request RequestInfo
	// NamespaceLabels are the labels of the object's namespace, if known.
	NamespaceLabels map[string]string
	// Restrictions are applied before policy's own (qm eval flags).
	Restrictions *placement.Restrictions
	// Usage is the GPUs already held, for quotas.
	Usage placement.GPUCounts
}

// RequestInfo is the part of an admission request that policies may read.
// It is a plain struct so that nothing below admission needs the
// admission/v1 types.
type RequestInfo struct {
	UID       string   `json:"uid,omitempty"`
	Operation string   `json:"operation,omitempty"`
	Username  string   `json:"username,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	DryRun    bool     `json:"dryRun,omitempty"`
}

// Violation is a reason to deny.
type Violation struct {
	Code   string `json:"code"`
	Msg    string `json:"msg"`
	Policy string `json:"policy,omitempty"`
}

// Outcome is the decision on one object.
type Outcome struct {
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	// GPU is false for objects that request no GPU; they are allowed as they are.
	GPU        bool        `json:"gpu"`
	Allowed    bool        `json:"allowed"`
	Violations []Violation `json:"violations,omitempty"`
	Warnings   []string    `json:"warnings,omitempty"`
	Decision   *Decision   `json:"placement,omitempty"`
	Patch      []PatchOp   `json:"patch,omitempty"`
	// NoPlacement is set when the workload is allowed by policy but fits
	// nowhere (exit code 3 in qm).
	NoPlacement bool `json:"noPlacement,omitempty"`
	// DryRun are what policies in dryrun mode would have denied.
	DryRun []Violation `json:"dryRun,omitempty"`
	// Exempt is true when the namespace is exempt from policy.
	Exempt bool `json:"exempt,omitempty"`
	// PolicyRevision is the revision of the policy bundle that decided.
	PolicyRevision string             `json:"policyRevision,omitempty"`
	Workload       *workload.Workload `json:"-"`
	// PolicyDuration and PlacementDuration time the two stages for the
	// webhook's metrics; zero when a stage did not run.
	PolicyDuration    time.Duration `json:"-"`
	PlacementDuration time.Duration `json:"-"`
}

// Evaluate decides on one object. Errors are reserved for faults of the
// evaluator itself; anything wrong with the object is a denial.
func (e *Evaluator) Evaluate(ctx context.Context, in *Input) (*Outcome, error) {
	out := &Outcome{Object: describe(in.Object), Allowed: true}
	w, err := e.extractor.Extract(in.Object, in.NamespaceLabels)
	if err != nil {
		var ae *workload.AnnotationError
		var oe *workload.ObjectError
		switch {
		case errors.Is(err, workload.ErrNotWorkload):
			return out, nil // not ours to judge
		case errors.As(err, &ae):
			out.GPU = true
			return out.deny(CodeInvalidAnnotation, err.Error()), nil
		case errors.As(err, &oe):
			out.GPU = true
			return out.deny(CodeInvalidWorkload, err.Error()), nil
		default:
			return nil, fmt.Errorf("extracting workload of %s: %w", out.Object, err)
		}
	}
	out.Workload = w
	if !w.RequestsGPU() {
		return out, nil
	}
	out.GPU = true
	restr := in.Restrictions
	var pin *policy.Input
	if e.policy != nil {
		ev, err := e.evidence.Collect(ctx, w)
		if err != nil {
			// Fail closed: without evidence, encryption and residency
			// rules cannot be trusted.
			return out.deny(CodeEvidenceError, "gathering evidence failed, so policy cannot be checked (failing closed): "+err.Error()), nil
		}
		pin = policyInput(in, w, ev)
		policyStart := time.Now()
		dec, err := e.policy.Evaluate(ctx, pin)
		out.PolicyDuration = time.Since(policyStart)
		if err != nil {
			return e.policyFailed(out, err)
		}
		out.applyDecision(dec)
		if out.Denied() {
			return out, nil
		}
		restr = mergeRestrictions(restr, dec.Restrictions)
	}
	start := time.Now()
	res, err := e.placer.Place(&placement.Request{Workload: w, Restrictions: restr, Usage: in.Usage, Provisioner: e.prov})
	out.PlacementDuration = time.Since(start)
	if err != nil {
		var nf *placement.NoFeasibleError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("placing %s: %w", out.Object, err)
		}
		if nf.Stage == placement.StagePinForbidden {
			return out.deny(CodePinForbidden, err.Error()), nil
		}
		out.NoPlacement = true
		return out.deny(CodeNoFeasiblePlacement, err.Error()), nil
	}
	d := newDecision(in.ID, w, res, restr, e.placer.Catalog().Meta().AsOf)
	out.Decision = d
	if pin != nil && !out.Exempt {
		// Phase two: rules that judge the chosen placement (budget).
		pin.Placement = placementOf(d)
		dec, err := e.policy.EvaluatePlaced(ctx, pin)
		if err != nil {
			return e.policyFailed(out, err)
		}
		out.applyDecision(dec)
		if out.Denied() {
			return out, nil // the decision stays for the record; no patch
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encoding decision of %s: %w", out.Object, err)
	}
	out.Patch = buildPatch(in.Object, w, d, e.extractor.Labels(), string(raw))
	return out, nil
}

// policyFailed fails closed on a policy evaluation error and passes other
// errors (faults of the evaluator) up.
func (e *Evaluator) policyFailed(out *Outcome, err error) (*Outcome, error) {
	if policy.IsEvalError(err) {
		return out.deny(CodePolicyError, "policy could not be evaluated, so the workload is denied (failing closed): "+err.Error()), nil
	}
	return nil, fmt.Errorf("evaluating policy on %s: %w", out.Object, err)
}

func (o *Outcome) deny(code, msg string) *Outcome {
	o.Allowed = false
	o.Violations = append(o.Violations, Violation{Code: code, Msg: msg})
	return o
}

// Denied reports whether any violation denies the object.
func (o *Outcome) Denied() bool { return !o.Allowed }

// HasCode reports whether a violation carries code.
func (o *Outcome) HasCode(code string) bool {
	return slices.ContainsFunc(o.Violations, func(v Violation) bool { return v.Code == code })
}

func describe(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		name, _ = meta["generateName"].(string)
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	if kind == "" {
		kind = "object"
	}
	return kind + " " + name
}
