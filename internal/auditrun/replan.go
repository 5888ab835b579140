package auditrun

import (
	"context"
	"fmt"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/engine"
	"github.com/quartermaster-io/quartermaster/internal/milp"
	"github.com/quartermaster-io/quartermaster/internal/placement/batch"
)

// replanTime bounds the batch solve of the price-drift check: the answer
// need not be proven optimal to show a move worth making.
const replanTime = 30 * time.Second

// batchReplanner places the running workloads again with the engine's
// policies, catalog and quotas, all at once with the batch optimizer (as
// qm optimize does), for the auditor's price-drift check.
type batchReplanner struct{ eng *engine.Engine }

var _ audit.Replanner = batchReplanner{}

// Replan judges each workload with today's policies (a denied one has no
// move) and solves the batch.
func (b batchReplanner) Replan(ctx context.Context, running []audit.Running) ([]audit.Move, error) {
	req := &batch.Request{Limits: milp.Limits{Time: replanTime}}
	keys := map[string][]string{} // workload ID → the keys of the gangs with it, in gang order
	for _, r := range running {
		g, err := b.eng.Gang(ctx, &admission.Input{ID: "audit", Object: r.Object, NamespaceLabels: r.NamespaceLabels})
		if err != nil {
			return nil, fmt.Errorf("judging %s: %w", r.Key, err)
		}
		if !g.Placeable() {
			continue
		}
		req.Gangs = append(req.Gangs, batch.Gang{Workload: g.Workload, Restrictions: g.Restrictions, Current: g.Current})
		id := g.Workload.Kind + " " + g.Workload.ID() // as the batch names its assignments
		keys[id] = append(keys[id], r.Key)
	}
	if len(req.Gangs) == 0 {
		return nil, nil
	}
	res, err := batch.Optimize(ctx, b.eng.Placer(), req)
	if err != nil {
		return nil, fmt.Errorf("placing the running workloads: %w", err)
	}
	var moves []audit.Move
	for _, a := range res.Assignments {
		ks := keys[a.Workload]
		if len(ks) == 0 {
			continue
		}
		key := ks[0]
		keys[a.Workload] = ks[1:]
		moves = append(moves, audit.Move{Key: key, Cloud: a.Cloud, Region: a.Region, InstanceType: a.InstanceType, GPUModel: a.GPUModel,
			CapacityType: string(a.CapacityType), Nodes: a.Nodes, PricePerHour: a.PricePerHour})
	}
	return moves, nil
}
