package engine

import (
	"context"
	"encoding/json"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Gang is one workload as the batch optimizer takes it: judged by the
// policy phase of admission, never by Go reading annotations, so that qm
// optimize leaves out what the webhook would deny and places the rest under
// the restrictions the policies set.
type Gang struct {
	// Outcome holds the violations of a denied workload and its warnings;
	// GPU is false for objects with nothing to place.
	Outcome *admission.Outcome
	// Workload and Restrictions are set when the workload may be placed:
	// the input's restrictions and every policy's, merged. Restrictions is
	// never nil then (an empty set places anywhere).
	Workload     *workload.Workload
	Restrictions *costing.Restrictions
	// Current is where a running workload was placed, from its decision
	// annotation (contract 4.2); nil for a new one. The optimizer charges
	// a migration penalty for moving it.
	Current *workload.Target
}

// Placeable reports whether the gang goes into the batch: a GPU workload
// the policies allow.
func (g *Gang) Placeable() bool { return g.Outcome.GPU && !g.Outcome.Denied() }

// Gang judges one workload for batch placement. The namespace labels come
// from the cluster state when in has none.
func (e *Engine) Gang(ctx context.Context, in *admission.Input) (*Gang, error) {
	if in.NamespaceLabels == nil {
		in.NamespaceLabels = e.NamespaceLabels(in.Object)
	}
	j, err := e.evaluator.Judge(ctx, in)
	if err != nil {
		return nil, err
	}
	g := &Gang{Outcome: j.Outcome, Workload: j.Workload, Restrictions: j.Restrictions}
	if g.Placeable() {
		if g.Restrictions == nil {
			g.Restrictions = &costing.Restrictions{}
		}
		g.Current = currentPlacement(g.Workload)
	}
	return g, nil
}

// currentPlacement reads where a running workload was placed from its
// decision annotation, or nil. A malformed annotation is no placement
// rather than an error: admission already judged it, and the optimizer
// only loses the migration penalty.
func currentPlacement(w *workload.Workload) *workload.Target {
	raw, ok := w.Annotations[workload.AnnotationDecision]
	if !ok {
		return nil
	}
	var d struct {
		Cloud, Region, InstanceType, CapacityType string
	}
	if json.Unmarshal([]byte(raw), &d) != nil || d.Cloud == "" || d.Region == "" {
		return nil
	}
	return &workload.Target{Cloud: d.Cloud, Region: d.Region, InstanceType: d.InstanceType, CapacityType: d.CapacityType}
}
