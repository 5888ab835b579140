package batch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/milp"
)

// Assignment is where one gang goes and what it costs.
type Assignment struct {
	Workload     string               `json:"workload"`
	Cloud        string               `json:"cloud"`
	Region       string               `json:"region"`
	InstanceType string               `json:"instanceType"`
	CapacityType costing.CapacityType `json:"capacityType"`
	GPUModel     string               `json:"gpuModel"`
	Nodes        int                  `json:"nodes"`
	GPUs         int64                `json:"gpus"`
	PricePerHour float64              `json:"pricePerHour"`
	Hours        float64              `json:"hours"`
	// Cost is compute (price × hours) + egress + migration.
	Cost          float64 `json:"cost"`
	EgressCost    float64 `json:"egressCost,omitempty"`
	MigrationCost float64 `json:"migrationCost,omitempty"`
}

// Unplaceable names a gang the batch cannot place and why.
type Unplaceable struct {
	Workload string `json:"workload"`
	Reason   string `json:"reason"`
}

// Result is the optimizer's answer. Optimal is true only when the search
// proved it; otherwise LowerBound and Gap say how far from optimal
// TotalCost can be.
type Result struct {
	Assignments []Assignment  `json:"assignments"`
	TotalCost   float64       `json:"totalCost"`
	LowerBound  float64       `json:"lowerBound"`
	Gap         float64       `json:"gap"`
	Optimal     bool          `json:"optimal"`
	Status      milp.Status   `json:"status"`
	SolveTimeMs float64       `json:"solveTimeMs"`
	Nodes       int           `json:"nodes"`
	Unplaceable []Unplaceable `json:"unplaceable,omitempty"`
}

// Solve runs the solver on the model and reports assignments in gang order.
func (m *Model) Solve(ctx context.Context) *Result {
	res := &Result{Assignments: []Assignment{}}
	for gi := range m.gangs {
		if err, bad := m.noCandidates[gi]; bad {
			res.Unplaceable = append(res.Unplaceable, Unplaceable{workloadID(m.gangs[gi].Workload), err.Error()})
		}
	}
	if len(res.Unplaceable) > 0 {
		res.Status = milp.StatusInfeasible
		return res
	}
	start := time.Now()
	sol := milp.Solve(ctx, &m.problem, m.req.Limits)
	res.SolveTimeMs = round(float64(time.Since(start).Microseconds())/1000, 3)
	res.Status, res.Nodes = sol.Status, sol.Nodes
	switch sol.Status {
	case milp.StatusInfeasible:
		for _, i := range sol.Unplaceable {
			res.Unplaceable = append(res.Unplaceable, Unplaceable{workloadID(m.gangs[i].Workload), m.contention(i)})
		}
		return res
	case milp.StatusUnknown:
		res.LowerBound = round(sol.LowerBound, 6)
		res.Gap = math.Inf(1)
		return res
	}
	for i, j := range sol.Choice {
		o := &m.opts[i][j]
		res.Assignments = append(res.Assignments, Assignment{
			Workload: workloadID(m.gangs[i].Workload), Cloud: o.Offer.Cloud, Region: o.Offer.Region,
			InstanceType: o.Offer.InstanceType, CapacityType: o.CapacityType, GPUModel: o.Offer.GPUModel,
			Nodes: o.Nodes, GPUs: o.GPUsHeld, PricePerHour: round(o.perHour, 6), Hours: o.EstimatedHours,
			Cost:       round(m.problem.Items[i].Options[j].Cost, 6),
			EgressCost: round(o.egress, 6), MigrationCost: o.migration,
		})
	}
	res.TotalCost = round(sol.Cost, 6)
	res.LowerBound = round(sol.LowerBound, 6)
	res.Optimal = sol.Status == milp.StatusOptimal
	res.Gap = round(sol.Gap(), 9)
	return res
}

// contention explains why a gang that fits on its own cannot be placed with
// the others: the quotas its options draw on.
func (m *Model) contention(i int) string {
	var keys []string
	free := false
	for _, o := range m.problem.Items[i].Options {
		if o.Resource < 0 {
			free = true
			continue
		}
		k := m.keys[o.Resource]
		s := fmt.Sprintf("%s/%s %s (%g GPUs left)", k.Cloud, k.Region, k.GPUModel, m.problem.Capacity[o.Resource])
		if !slices.Contains(keys, s) {
			keys = append(keys, s)
		}
	}
	if free {
		return "fits on its own, but not together with the other gangs of its quota group"
	}
	return "fits on its own, but the quotas it needs cannot hold it together with the other gangs competing for them: " + strings.Join(keys, ", ")
}

func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}
