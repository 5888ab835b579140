package steps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/admission"
)

// admissionSteps send the object through the webhook handler and check
// what the user would see: allowed or denied and why, the warnings, the
// placement and the patch.
var admissionSteps = []step{
	{`^it is admitted$`, admitted},
	{`^it is admitted as a dry run$`, admittedDryRun},
	{`^it is allowed$`, isAllowed},
	{`^it is denied with code "([^"]*)"$`, deniedWithCode},
	{`^the denial says "(.*)"$`, denialSays},
	{`^it is warned "(.*)"$`, warned},
	{`^it is sized to (\d+) replicas with a predicted p99 under (\S+)$`, sizedTo},
	{`^it is not warned$`, notWarned},
	{`^it is placed in "([^"]*)" "([^"]*)" on "([^"]*)" as "([^"]*)"$`, placedIn},
	{`^it is placed in the jurisdiction "([^"]*)"$`, placedInJurisdiction},
	{`^it is placed on "([^"]*)" GPUs$`, placedOnModel},
	{`^it uses (\d+) nodes? at ([\d.]+) dollars per hour$`, usesNodes},
	{`^its estimated cost is ([\d.]+) dollars$`, estimatedCost},
	{`^the decision lists the next cheapest placement in "([^"]*)" "([^"]*)"$`, alternative},
	{`^the pods tolerate spot nodes$`, toleratesSpot},
	{`^the pods do not tolerate spot nodes$`, noSpotToleration},
	{`^every GPU pod template is pinned to "([^"]*)" "([^"]*)" on "([^"]*)"$`, everyTemplatePinned},
	{`^the pod template without GPUs is pinned to "([^"]*)" "([^"]*)" only$`, headPinned},
	{`^the decision names policy "([^"]*)"$`, decisionNamesPolicy},
	{`^the decision says it is scaled to zero$`, scaledToZeroDecision},
	{`^there is no feasible placement because "([^"]*)"$`, noFeasible},
	{`^nothing is patched$`, nothingPatched},
	{`^no decision is recorded$`, noDecisionRecorded},
	{`^admitting the mutated object again changes nothing$`, reinvocationIsIdempotent},
}

func admitted(ctx context.Context) error {
	w := get(ctx)
	return w.admit("CREATE", w.object, nil, false)
}

func admittedDryRun(ctx context.Context) error {
	w := get(ctx)
	return w.admit("CREATE", w.object, nil, true)
}

// answered returns the last reply, or an error if nothing was sent.
func answered(ctx context.Context) (*reply, error) {
	if r := get(ctx).last; r != nil {
		return r, nil
	}
	return nil, errors.New("nothing was sent to the webhook")
}

// summary describes the last answer for failure messages.
func (r *reply) summary() string {
	resp := r.review.Response
	s := fmt.Sprintf("allowed=%v", resp.Allowed)
	if resp.Status != nil {
		s += fmt.Sprintf(", status %d %q", resp.Status.Code, resp.Status.Message)
	}
	if len(resp.Warnings) > 0 {
		s += fmt.Sprintf(", warnings %q", resp.Warnings)
	}
	return s
}

func isAllowed(ctx context.Context) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if !r.review.Response.Allowed {
		return fmt.Errorf("want allowed, got %s", r.summary())
	}
	return nil
}

func deniedWithCode(ctx context.Context, code string) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	resp := r.review.Response
	if resp.Allowed || resp.Status == nil {
		return fmt.Errorf("want a denial with code %s, got %s", code, r.summary())
	}
	if !slices.ContainsFunc(get(ctx).violations(), func(v admission.Violation) bool { return v.Code == code }) ||
		!strings.Contains(resp.Status.Message, code+": ") {
		return fmt.Errorf("want a denial with code %s, got %s", code, r.summary())
	}
	return nil
}

// unquote undoes the \" a quoted step argument needs for a quote.
func unquote(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }

func denialSays(ctx context.Context, text string) error {
	text = unquote(text)
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if st := r.review.Response.Status; st == nil || !strings.Contains(st.Message, text) {
		return fmt.Errorf("want an answer saying %q, got %s", text, r.summary())
	}
	return nil
}

func warned(ctx context.Context, text string) error {
	text = unquote(text)
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(r.review.Response.Warnings, func(w string) bool { return strings.Contains(w, text) }) {
		return fmt.Errorf("want a warning saying %q, got %s", text, r.summary())
	}
	return nil
}

func notWarned(ctx context.Context) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if len(r.review.Response.Warnings) > 0 {
		return fmt.Errorf("want no warnings, got %q", r.review.Response.Warnings)
	}
	return nil
}

// placed returns the decision of an admitted, placed object.
func placed(ctx context.Context) (*admission.Decision, error) {
	r, err := answered(ctx)
	if err != nil {
		return nil, err
	}
	d, err := get(ctx).decision()
	if err != nil {
		return nil, err
	}
	if d == nil || !r.review.Response.Allowed {
		return nil, fmt.Errorf("not placed: %s", r.summary())
	}
	return d, nil
}

func placedIn(ctx context.Context, cloud, region, instanceType, capacity string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if d.Cloud != cloud || d.Region != region || d.InstanceType != instanceType || string(d.CapacityType) != capacity {
		return fmt.Errorf("placed in %s %s on %s as %s", d.Cloud, d.Region, d.InstanceType, d.CapacityType)
	}
	return nil
}

func placedInJurisdiction(ctx context.Context, j string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if d.Jurisdiction != j {
		return fmt.Errorf("placed in %s %s, jurisdiction %q", d.Cloud, d.Region, d.Jurisdiction)
	}
	return nil
}

func placedOnModel(ctx context.Context, model string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if d.GPUModel != model {
		return fmt.Errorf("placed on %s GPUs (%s %s %s)", d.GPUModel, d.Cloud, d.Region, d.InstanceType)
	}
	return nil
}

func usesNodes(ctx context.Context, nodes int, perHour float64) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if d.Nodes != nodes || math.Abs(d.PricePerHour-perHour) > 1e-6 {
		return fmt.Errorf("%d nodes at %v dollars per hour", d.Nodes, d.PricePerHour)
	}
	return nil
}

func estimatedCost(ctx context.Context, cost float64) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if math.Abs(d.EstimatedCost-cost) > 1e-6 {
		return fmt.Errorf("estimated cost %v dollars (%v h)", d.EstimatedCost, d.EstimatedHours)
	}
	return nil
}

func alternative(ctx context.Context, cloud, region string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if len(d.Alternatives) == 0 || d.Alternatives[0].Cloud != cloud || d.Alternatives[0].Region != region {
		return fmt.Errorf("alternatives: %+v", d.Alternatives)
	}
	return nil
}

// sizedTo checks an auto-sized decision: the replica count in the decision
// and in the stored object's spec, and a predicted p99 within bound.
func sizedTo(ctx context.Context, replicas int, bound string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	limit, err := time.ParseDuration(bound)
	if err != nil {
		return fmt.Errorf("bound %q: %w", bound, err)
	}
	p99, err := time.ParseDuration(d.P99)
	if d.Replicas != replicas || err != nil || p99 <= 0 || p99 > limit {
		return fmt.Errorf("decision: %d replicas, p99 %q; want %d replicas and a p99 under %s", d.Replicas, d.P99, replicas, bound)
	}
	spec, _ := get(ctx).stored["spec"].(map[string]any)
	if got, _ := spec["replicas"].(float64); int(got) != replicas {
		return fmt.Errorf("the stored object's spec.replicas is %v, want %d", spec["replicas"], replicas)
	}
	return nil
}

// mutated is the stored object: the submitted one with the patch applied.
func mutated(ctx context.Context) (map[string]any, error) {
	if _, err := placed(ctx); err != nil {
		return nil, err
	}
	return get(ctx).stored, nil
}

func toleratesSpot(ctx context.Context) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	keys, err := get(ctx).keys()
	if err != nil {
		return err
	}
	for _, ps := range gpuPodSpecs(m) {
		if !tolerates(ps, keys.SpotTaint) {
			return errors.New("a GPU pod template of the mutated object has no spot toleration")
		}
	}
	return nil
}

func noSpotToleration(ctx context.Context) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	keys, err := get(ctx).keys()
	if err != nil {
		return err
	}
	for _, ps := range podSpecs(m) {
		if tolerates(ps, keys.SpotTaint) {
			return errors.New("a pod template of the mutated object tolerates spot nodes")
		}
	}
	return nil
}

// required returns the values a pod spec's required node affinity demands
// for key, in every term.
func required(ps map[string]any, key string) []string {
	var out []string
	aff, _ := ps["affinity"].(map[string]any)
	na, _ := aff["nodeAffinity"].(map[string]any)
	req, _ := na["requiredDuringSchedulingIgnoredDuringExecution"].(map[string]any)
	terms, _ := req["nodeSelectorTerms"].([]any)
	for _, t := range terms {
		tm, _ := t.(map[string]any)
		exprs, _ := tm["matchExpressions"].([]any)
		for _, e := range exprs {
			em, _ := e.(map[string]any)
			if em["key"] != key {
				continue
			}
			vals, _ := em["values"].([]any)
			for _, v := range vals {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func pinnedTo(ps map[string]any, key, want string) error {
	if got := required(ps, key); len(got) == 0 || slices.ContainsFunc(got, func(v string) bool { return v != want }) {
		return fmt.Errorf("node affinity on %s requires %q, want %q", key, got, want)
	}
	return nil
}

func everyTemplatePinned(ctx context.Context, cloud, region, instanceType string) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	keys, err := get(ctx).keys()
	if err != nil {
		return err
	}
	specs := gpuPodSpecs(m)
	if len(specs) == 0 {
		return errors.New("the mutated object has no GPU pod template")
	}
	for _, ps := range specs {
		if err := errors.Join(pinnedTo(ps, keys.Cloud, cloud), pinnedTo(ps, keys.Region, region),
			pinnedTo(ps, keys.InstanceType, instanceType)); err != nil {
			return err
		}
	}
	return nil
}

func headPinned(ctx context.Context, cloud, region string) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	keys, err := get(ctx).keys()
	if err != nil {
		return err
	}
	for _, ps := range podSpecs(m) {
		if asksForGPU(ps) {
			continue
		}
		if err := errors.Join(pinnedTo(ps, keys.Cloud, cloud), pinnedTo(ps, keys.Region, region)); err != nil {
			return err
		}
		if got := required(ps, keys.InstanceType); len(got) > 0 {
			return fmt.Errorf("the pod template without GPUs is pinned to instance type %q", got)
		}
		return nil
	}
	return errors.New("the mutated object has no pod template without GPUs")
}

func decisionNamesPolicy(ctx context.Context, policy string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(d.Policies, policy) {
		return fmt.Errorf("decision policies %q lack %q", d.Policies, policy)
	}
	return nil
}

func scaledToZeroDecision(ctx context.Context) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if !d.ScaledToZero {
		return fmt.Errorf("decision of %d nodes is not marked scaled to zero", d.Nodes)
	}
	return nil
}

// noFeasible checks the denial the user sees: the no-feasible-placement
// code and the words that name the filter which emptied the set (the
// outcome does not carry the stage itself; see the report of issue 16).
func noFeasible(ctx context.Context, because string) error {
	if err := deniedWithCode(ctx, admission.CodeNoFeasiblePlacement); err != nil {
		return err
	}
	return denialSays(ctx, because)
}

func nothingPatched(ctx context.Context) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if p := r.review.Response.Patch; len(p) != 0 {
		return fmt.Errorf("patched: %s", p)
	}
	return nil
}

// noDecisionRecorded: the handler recorded nothing (no GPU decision, a
// deletion, a dry run).
func noDecisionRecorded(ctx context.Context) error {
	r, err := answered(ctx)
	if err != nil {
		return err
	}
	if r.entry != nil {
		return fmt.Errorf("a decision was recorded: %s %s", r.entry.Verb, r.entry.Decision)
	}
	return nil
}

// reinvocationIsIdempotent sends the mutated object again, as the API
// server does under reinvocationPolicy: IfNeeded.
func reinvocationIsIdempotent(ctx context.Context) error {
	w := get(ctx)
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	if err := w.admit("CREATE", clone(m), nil, false); err != nil {
		return err
	}
	if p := w.last.review.Response.Patch; len(p) != 0 {
		return fmt.Errorf("second admission patched again: %s", p)
	}
	return nil
}
