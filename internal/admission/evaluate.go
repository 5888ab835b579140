package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/quota"
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
	placer    atomic.Pointer[placement.Placer] // swapped by SetPlacer (reload.go)
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
	e := &Evaluator{extractor: d.Extractor, policy: d.Policy, evidence: ev, prov: d.Provisioner}
	e.placer.Store(d.Placer)
	return e, nil
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
	Restrictions *costing.Restrictions
	// Usage is the GPUs already held, for quotas.
	Usage quota.GPUCounts

	// Recorded is the decision the object was admitted with (see
	// update.go): on a mutating UPDATE the old object's, in the validating
	// call the object's own; nil otherwise. While the object's fingerprint
	// still matches it, it is kept without evaluating anything again.
	Recorded *Decision
	// RecordedRaw is the recorded decision's annotation as written, which
	// a kept decision restores if the update dropped or edited it.
	RecordedRaw string
	// Replace, when the fingerprint no longer matches, takes the recorded
	// decision's own pins away before placing again (a mutating UPDATE);
	// otherwise the object is judged as it is (the validating call).
	Replace bool
	// OwnUsage is what the object's own pods hold, subtracted from Usage
	// when an update is placed again: a workload never competes with
	// itself for quota. Shared, never modified.
	OwnUsage quota.GPUCounts
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
	// Annotation is Decision as the annotation holds it: the JSON the
	// patch writes, or the recorded one of a kept decision.
	Annotation []byte    `json:"-"`
	Patch      []PatchOp `json:"patch,omitempty"`
	// NoPlacement is set when the workload is allowed by policy but fits
	// nowhere (exit code 3 in qm).
	NoPlacement bool `json:"noPlacement,omitempty"`
	// DryRun are what policies in dryrun mode would have denied.
	DryRun []Violation `json:"dryRun,omitempty"`
	// Exempt is true when the namespace is exempt from policy.
	Exempt bool `json:"exempt,omitempty"`
	// Kept is true when an update changed nothing the recorded decision
	// depends on, so the decision was kept as it was.
	Kept bool `json:"kept,omitempty"`
	// PolicyRevision is the revision of the policy bundle that decided.
	PolicyRevision string             `json:"policyRevision,omitempty"`
	Workload       *workload.Workload `json:"-"`
	// PolicyDuration and PlacementDuration time the two stages for the
	// webhook's metrics; zero when a stage did not run.
	PolicyDuration    time.Duration `json:"-"`
	PlacementDuration time.Duration `json:"-"`

	// CatalogRevision is the revision of the catalog that priced the
	// decision (the placer's, read once per decision; reload.go).
	CatalogRevision string `json:"catalogRevision,omitempty"`
}

// Evaluate decides on one object. Errors are reserved for faults of the
// evaluator itself; anything wrong with the object is a denial.
func (e *Evaluator) Evaluate(ctx context.Context, in *Input) (*Outcome, error) {
	out := &Outcome{Object: describe(in.Object), Allowed: true}
	obj := in.Object
	if deleting(obj) {
		return out, nil // finalizers being removed: never in the way of a deletion
	}
	w, stop, err := e.extract(out, obj, in.NamespaceLabels)
	if stop {
		return out, err
	}
	keys := e.extractor.Labels()
	var reset []PatchOp
	if rec := in.Recorded; rec != nil {
		if fingerprint(obj, w, rec, keys) == rec.Fingerprint {
			return e.keep(out, obj, w, in), nil
		}
		if in.Replace {
			obj, reset = stripDecision(obj, w, rec, keys)
			if w, stop, err = e.extract(out, obj, in.NamespaceLabels); stop {
				return out, err
			}
		}
	}
	restr, phase1, err := e.judge(ctx, in, w, out)
	if err != nil || out.Denied() {
		return out, err
	}
	placer := e.placer.Load() // one catalog for the whole decision, even across a reload
	out.CatalogRevision = placer.Catalog().Meta().Revision
	start := time.Now()
	req := &placement.Request{Workload: w, Restrictions: restr, Usage: withoutUsage(in.Usage, in.OwnUsage), Provisioner: e.prov}
	autoSized := w.Inference != nil && w.Inference.AutoReplicas
	scaledToZero := !autoSized && w.TotalGPUReplicas() == 0
	if scaledToZero {
		// It holds no GPUs, so usage does not limit it; but its template is
		// still pinned, where one replica of each pod set would go, so
		// that a later scale-up (through the scale subresource, which
		// never reaches the webhook) lands on a compliant place.
		req.Workload, req.Usage = oneReplicaEach(w), nil
	}
	var res *placement.Result
	if autoSized {
		res, err = placeSized(placer, req, out)
	} else {
		res, err = placer.Place(req)
	}
	out.PlacementDuration = time.Since(start)
	if err != nil {
		var nf *placement.NoFeasibleError
		var inf *placement.InferenceError
		switch {
		case errors.As(err, &nf) && nf.Stage == placement.StagePinForbidden:
			return out.deny(CodePinForbidden, err.Error()), nil
		case errors.As(err, &nf), errors.As(err, &inf):
			out.NoPlacement = true
			return out.deny(CodeNoFeasiblePlacement, err.Error()), nil
		case errors.Is(err, errNotSizable):
			return out.deny(CodeInvalidAnnotation, err.Error()), nil
		}
		return nil, fmt.Errorf("placing %s: %w", out.Object, err)
	}
	d := newDecision(in.ID, w, res, restr, placer.Catalog().Meta().AsOf)
	d.ScaledToZero, d.CatalogRevision = scaledToZero, out.CatalogRevision
	if !scaledToZero && !autoSized {
		// A workload that gives its own replica count is told when it
		// cannot meet its own latency objective with it.
		if msg := placement.CheckSLO(w.Inference, d.GPUModel, int(w.TotalGPUReplicas())); msg != "" {
			out.Warnings = append(out.Warnings, "quartermaster: "+msg)
		}
	}
	if reset != nil && samePins(in.Recorded, d) {
		// Placed again where it was: the recorded pins are the new ones,
		// so the patch leaves them as they are rather than rewriting them.
		obj, reset = in.Object, nil
	}
	d.Fingerprint = fingerprint(obj, w, d, keys)
	out.Decision = d
	// Encoded once, final before phase two: the annotation, and the
	// decision log's record of it even when phase two denies.
	if out.Annotation, err = json.Marshal(d); err != nil {
		return nil, fmt.Errorf("encoding decision of %s: %w", out.Object, err)
	}
	if phase1 != nil && !out.Exempt {
		// Phase two: rules that judge the chosen placement (budget).
		dec, err := phase1.Placed(ctx, &d.Placement)
		if err != nil {
			return e.policyFailed(out, err)
		}
		out.applyDecision(dec)
		if out.Denied() {
			return out, nil // the decision stays for the record; no patch
		}
	}
	out.Patch = append(reset, buildPatch(obj, w, d, keys, string(out.Annotation), func(old string) bool { return samePlacement(old, d) })...)
	// Only a new decision sets a sized replica count: an update that keeps
	// the decision keeps whatever count the object has.
	out.Patch = appendReplicas(out.Patch, obj, w, d)
	return out, nil
}

// judge runs the policy phase that does not depend on the placement:
// evidence, then the rules, whose restrictions are merged into in's. A denial
// is in out; err only for faults of the evaluator. The Evaluation is phase
// one's, for phase two; nil without policies.
func (e *Evaluator) judge(ctx context.Context, in *Input, w *workload.Workload, out *Outcome) (*costing.Restrictions, *policy.Evaluation, error) {
	if e.policy == nil {
		return in.Restrictions, nil, nil
	}
	ev, err := e.evidence.Collect(ctx, w)
	if err != nil {
		// Fail closed: without evidence, encryption and residency rules
		// cannot be trusted.
		out.deny(CodeEvidenceError, "gathering evidence failed, so policy cannot be checked (failing closed): "+err.Error())
		return nil, nil, nil
	}
	policyStart := time.Now()
	dec, err := e.policy.Evaluate(ctx, policyInput(in, w, ev))
	out.PolicyDuration = time.Since(policyStart)
	if err != nil {
		_, err = e.policyFailed(out, err)
		return nil, nil, err
	}
	out.applyDecision(dec.Decision)
	if out.Denied() {
		return nil, nil, nil
	}
	return mergeRestrictions(in.Restrictions, dec.Restrictions), dec, nil
}

// Judgement is what admission decides about a workload before placing it.
type Judgement struct {
	// Outcome holds the violations of a denied workload, its warnings, and
	// GPU false for objects with nothing to place.
	Outcome *Outcome
	// Workload and Restrictions are set when the workload may be placed:
	// the restrictions of in and of every policy merged.
	Workload     *workload.Workload
	Restrictions *costing.Restrictions
}

// Judge runs what Evaluate runs before placing (extraction, evidence, the
// policy phase that does not depend on the placement), so that batch
// placement (qm optimize) applies exactly the policies of admission: a
// denied workload is left out with its reasons, an allowed one placed under
// the policies' restrictions. The rules that judge a chosen placement
// (budget) need one; the batch caller reports them as not applied.
func (e *Evaluator) Judge(ctx context.Context, in *Input) (*Judgement, error) {
	out := &Outcome{Object: describe(in.Object), Allowed: true}
	j := &Judgement{Outcome: out}
	w, stop, err := e.extract(out, in.Object, in.NamespaceLabels)
	if stop {
		return j, err
	}
	restr, _, err := e.judge(ctx, in, w, out)
	if err != nil || out.Denied() {
		return j, err
	}
	j.Workload, j.Restrictions = w, restr
	return j, nil
}

// extract builds the workload of obj. stop is true when the outcome is
// final without placement: not a workload, no GPU, or a malformed object or
// annotation (denied); err only for faults of the extractor.
func (e *Evaluator) extract(out *Outcome, obj map[string]any, nsLabels map[string]string) (w *workload.Workload, stop bool, err error) {
	w, err = e.extractor.Extract(obj, nsLabels)
	if err != nil {
		var ae *workload.AnnotationError
		var oe *workload.ObjectError
		switch {
		case errors.Is(err, workload.ErrNotWorkload):
			// Not ours to judge; but a kind nobody described that asks for
			// GPUs is worth a word rather than passing as "no GPU".
			if specs := workload.GPUSpecsIn(obj); len(specs) > 0 {
				out.Warnings = append(out.Warnings, fmt.Sprintf("quartermaster: %s asks for GPUs (%s) but is a kind Quartermaster has no workload rule for, so it is neither placed nor judged; describe the kind with --workload-rules (docs/workloads-and-placement.md)",
					out.Object, strings.Join(specs, ", ")))
			}
			return nil, true, nil
		case errors.As(err, &ae):
			out.GPU = true
			out.deny(CodeInvalidAnnotation, err.Error())
			return nil, true, nil
		case errors.As(err, &oe):
			out.GPU = true
			out.deny(CodeInvalidWorkload, err.Error())
			return nil, true, nil
		default:
			return nil, true, fmt.Errorf("extracting workload of %s: %w", out.Object, err)
		}
	}
	out.Workload = w
	if !w.RequestsGPU() {
		return w, true, nil
	}
	out.GPU = true
	return w, false, nil
}

// keep is the outcome of an update that changed nothing the recorded
// decision depends on: the decision stands, and the patch only puts back
// Quartermaster's pins and the recorded annotation where the update removed
// or edited them.
func (e *Evaluator) keep(out *Outcome, obj map[string]any, w *workload.Workload, in *Input) *Outcome {
	out.Kept = true
	out.Decision, out.Annotation = in.Recorded, []byte(in.RecordedRaw)
	out.CatalogRevision = in.Recorded.CatalogRevision // "" for a decision older than the field: the log names the one in service
	raw := in.RecordedRaw
	out.Patch = buildPatch(obj, w, in.Recorded, e.extractor.Labels(), raw, func(old string) bool { return old == raw })
	return out
}

// oneReplicaEach is w with one replica in each GPU pod set, for placing a
// workload scaled to zero.
func oneReplicaEach(w *workload.Workload) *workload.Workload {
	one := *w
	one.PodSets = slices.Clone(w.PodSets)
	for i := range one.PodSets {
		if one.PodSets[i].GPU.Count > 0 {
			one.PodSets[i].Replicas = 1
		}
	}
	return &one
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
