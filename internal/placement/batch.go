package placement

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Gang is one workload of a batch: all its GPU replicas go to one offer.
type Gang struct {
	Workload     *workload.Workload
	Restrictions *costing.Restrictions
	// Current is where the workload runs now, or nil. Moving it elsewhere
	// costs BatchRequest.MigrationPenalty.
	Current *workload.Target
}

// BatchRequest is a set of gangs to place together under the quotas.
type BatchRequest struct {
	Gangs []Gang
	// Usage is the GPUs already held outside this batch; nil is none.
	Usage quota.GPUCounts
	// Egress prices the datasets' transfer; nil means DefaultEgress.
	Egress *costing.EgressTable
	// Locate returns where a dataset lives when the inventory knows; nil or
	// false falls back to the cloud of the URL's scheme, region unknown.
	Locate func(dataset string) (costing.Location, bool)
	// MigrationPenalty is the cost in USD of moving a running gang.
	MigrationPenalty float64
	Limits           Limits
}

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

// BatchResult is the optimizer's answer. Optimal is true only when the
// search proved it; otherwise LowerBound and Gap say how far from optimal
// TotalCost can be.
type BatchResult struct {
	Assignments []Assignment  `json:"assignments"`
	TotalCost   float64       `json:"totalCost"`
	LowerBound  float64       `json:"lowerBound"`
	Gap         float64       `json:"gap"`
	Optimal     bool          `json:"optimal"`
	Status      Status        `json:"status"`
	SolveTimeMs float64       `json:"solveTimeMs"`
	Nodes       int           `json:"nodes"`
	Unplaceable []Unplaceable `json:"unplaceable,omitempty"`
}

// Model is a batch turned into the integer program, with what each option
// stands for. Build it with Placer.Model; solve it with Placer.Solve.
type Model struct {
	Problem Problem
	req     *BatchRequest
	gangs   []*Gang
	opts    [][]optionInfo
	keys    []quota.Key
	// noCandidates holds the diagnosis of gangs with no feasible offer.
	noCandidates map[int]error
}

type optionInfo struct {
	cand               candidate
	hours              float64
	egress, migration  float64
	gpus               int64
	computeCostPerHour float64
}

// Model builds the integer program of a batch: each gang's feasible
// candidates (the same scan as Place: acceptable models, pin, restrictions,
// node shape, and quota left on its own), priced over the gang's expected
// duration, plus egress and migration.
func (p *Placer) Model(req *BatchRequest) (*Model, error) {
	m := &Model{req: req, noCandidates: map[int]error{}}
	keyIdx := map[quota.Key]int{}
	for k := range p.quotas {
		m.keys = append(m.keys, k)
	}
	slices.SortFunc(m.keys, func(a, b quota.Key) int {
		return strings.Compare(a.Cloud+"/"+a.Region+"/"+a.GPUModel, b.Cloud+"/"+b.Region+"/"+b.GPUModel)
	})
	m.Problem.Capacity = make([]float64, len(m.keys))
	for i, k := range m.keys {
		keyIdx[k] = i
		m.Problem.Capacity[i] = float64(max(p.quotas[k]-req.Usage[k], 0))
	}
	egress := req.Egress
	if egress == nil {
		egress = costing.DefaultEgress()
	}
	for gi := range req.Gangs {
		g := &req.Gangs[gi]
		w := g.Workload
		if w == nil || !w.RequestsGPU() {
			return nil, fmt.Errorf("gang %d (%s): the workload requests no GPUs", gi+1, workloadID(w))
		}
		restr := g.Restrictions
		if restr == nil {
			restr = &costing.Restrictions{}
		}
		locs, err := datasetLocations(w, req.Locate)
		if err != nil {
			return nil, fmt.Errorf("gang %s: %w", workloadID(w), err)
		}
		hours := durationHours(w)
		var item Item
		var infos []optionInfo
		p.each(w, restr, req.Usage, func(c *candidate) {
			info := optionInfo{cand: *c, hours: hours, gpus: int64(c.nodes) * int64(c.offer.GPUCount), computeCostPerHour: c.price}
			for _, l := range locs {
				info.egress += l.gib * egress.PerGiB(l.loc, c.offer.Cloud, c.offer.Region)
			}
			if g.Current != nil && (g.Current.Cloud != c.offer.Cloud || g.Current.Region != c.offer.Region ||
				g.Current.InstanceType != c.offer.InstanceType || (g.Current.CapacityType != "" && g.Current.CapacityType != string(c.capacity))) {
				info.migration = req.MigrationPenalty
			}
			res := -1
			if i, ok := keyIdx[quota.Key{Cloud: c.offer.Cloud, Region: c.offer.Region, GPUModel: c.offer.GPUModel}]; ok {
				res = i
			}
			item.Options = append(item.Options, Option{
				Cost:     c.price*hours + info.egress + info.migration,
				Resource: res,
				Use:      float64(info.gpus),
			})
			infos = append(infos, info)
		})
		if len(item.Options) == 0 {
			m.noCandidates[gi] = p.diagnose(w, restr, req.Usage, nil)
		}
		m.Problem.Items = append(m.Problem.Items, item)
		m.opts = append(m.opts, infos)
		m.gangs = append(m.gangs, g)
	}
	return m, nil
}

type datasetShare struct {
	loc costing.Location
	gib float64
}

// datasetLocations splits the workload's dataset size evenly over its
// datasets (the annotation gives one total) and locates each.
func datasetLocations(w *workload.Workload, locate func(string) (costing.Location, bool)) ([]datasetShare, error) {
	if len(w.Datasets) == 0 || w.DatasetSizeBytes <= 0 {
		return nil, nil
	}
	share := float64(w.DatasetSizeBytes) / float64(1<<30) / float64(len(w.Datasets))
	out := make([]datasetShare, 0, len(w.Datasets))
	for _, d := range w.Datasets {
		if locate != nil {
			if l, ok := locate(d); ok {
				out = append(out, datasetShare{l, share})
				continue
			}
		}
		cloud, err := costing.DatasetCloud(d)
		if err != nil {
			return nil, err
		}
		out = append(out, datasetShare{costing.Location{Cloud: cloud}, share})
	}
	return out, nil
}

// WriteLP exports the model in CPLEX LP format with comments naming each
// workload, offer and quota.
func (m *Model) WriteLP(w io.Writer) error {
	return WriteLP(w, &m.Problem, m.lpNames())
}

// WritePresolvedLP exports the model after the exact presolve (Presolved),
// the instance the solver actually searches; variable names and comments
// keep the full model's numbering.
func (m *Model) WritePresolvedLP(w io.Writer) error {
	q, keep := Presolved(&m.Problem)
	names := m.lpNames()
	full := names.Option
	names.Option = func(i, j int) string { return full(i, keep[i][j]) }
	names.Index = func(i, j int) int { return keep[i][j] }
	names.Header = PresolvedHeader
	return WriteLP(w, q, names)
}

func (m *Model) lpNames() LPNames {
	return LPNames{
		Item: func(i int) string { return workloadID(m.gangs[i].Workload) },
		Option: func(i, j int) string {
			c := m.opts[i][j].cand
			return fmt.Sprintf("%s/%s/%s %s × %d nodes", c.offer.Cloud, c.offer.Region, c.offer.InstanceType, c.capacity, c.nodes)
		},
		Resource: func(r int) string {
			k := m.keys[r]
			return fmt.Sprintf("%s/%s %s GPUs", k.Cloud, k.Region, k.GPUModel)
		},
	}
}

// Optimize builds and solves a batch.
func (p *Placer) Optimize(ctx context.Context, req *BatchRequest) (*BatchResult, error) {
	m, err := p.Model(req)
	if err != nil {
		return nil, err
	}
	return m.Solve(ctx), nil
}

// Solve runs the solver on the model and reports assignments in gang order.
func (m *Model) Solve(ctx context.Context) *BatchResult {
	res := &BatchResult{Assignments: []Assignment{}}
	for gi := range m.gangs {
		if err, bad := m.noCandidates[gi]; bad {
			res.Unplaceable = append(res.Unplaceable, Unplaceable{workloadID(m.gangs[gi].Workload), err.Error()})
		}
	}
	if len(res.Unplaceable) > 0 {
		res.Status = StatusInfeasible
		return res
	}
	start := time.Now()
	sol := Solve(ctx, &m.Problem, m.req.Limits)
	res.SolveTimeMs = round(float64(time.Since(start).Microseconds())/1000, 3)
	res.Status, res.Nodes = sol.Status, sol.Nodes
	switch sol.Status {
	case StatusInfeasible:
		for _, i := range sol.Unplaceable {
			res.Unplaceable = append(res.Unplaceable, Unplaceable{workloadID(m.gangs[i].Workload), m.contention(i)})
		}
		return res
	case StatusUnknown:
		res.LowerBound = round(sol.LowerBound, 6)
		res.Gap = math.Inf(1)
		return res
	}
	for i, j := range sol.Choice {
		info := m.opts[i][j]
		c := info.cand
		res.Assignments = append(res.Assignments, Assignment{
			Workload: workloadID(m.gangs[i].Workload), Cloud: c.offer.Cloud, Region: c.offer.Region,
			InstanceType: c.offer.InstanceType, CapacityType: c.capacity, GPUModel: c.offer.GPUModel,
			Nodes: c.nodes, GPUs: info.gpus, PricePerHour: round(c.price, 6), Hours: info.hours,
			Cost:       round(m.Problem.Items[i].Options[j].Cost, 6),
			EgressCost: round(info.egress, 6), MigrationCost: info.migration,
		})
	}
	res.TotalCost = round(sol.Cost, 6)
	res.LowerBound = round(sol.LowerBound, 6)
	res.Optimal = sol.Status == StatusOptimal
	res.Gap = round(sol.Gap(), 9)
	return res
}

// contention explains why a gang that fits on its own cannot be placed with
// the others: the quotas its options draw on.
func (m *Model) contention(i int) string {
	var keys []string
	free := false
	for _, o := range m.Problem.Items[i].Options {
		if o.Resource < 0 {
			free = true
			continue
		}
		k := m.keys[o.Resource]
		s := fmt.Sprintf("%s/%s %s (%g GPUs left)", k.Cloud, k.Region, k.GPUModel, m.Problem.Capacity[o.Resource])
		if !slices.Contains(keys, s) {
			keys = append(keys, s)
		}
	}
	if free {
		return "fits on its own, but not together with the other gangs of its quota group"
	}
	return "fits on its own, but the quotas it needs cannot hold it together with the other gangs competing for them: " + strings.Join(keys, ", ")
}
