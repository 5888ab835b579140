package batch

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/milp"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Gang is one workload of a batch: all its GPU replicas go to one offer.
type Gang struct {
	Workload     *workload.Workload
	Restrictions *costing.Restrictions
	// Current is where the workload runs now, or nil. Moving it elsewhere
	// costs Request.MigrationPenalty.
	Current *workload.Target
}

// Request is a set of gangs to place together under the quotas.
type Request struct {
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
	// Limits bound the search (time, nodes, gap); zero searches until
	// optimality is proven.
	Limits milp.Limits
}

// Model is a batch turned into the integer program, with what each option
// stands for. Build it with NewModel; solve it with Solve.
type Model struct {
	problem milp.Problem
	req     *Request
	gangs   []*Gang
	opts    [][]option
	keys    []quota.Key
	// noCandidates holds the diagnosis of gangs with no feasible offer.
	noCandidates map[int]error
}

// option is what option j of a gang stands for: a placement and its price.
type option struct {
	placement.Placement
	// perHour is the whole gang's price per hour, unrounded (Placement's
	// PricePerHour is rounded for display).
	perHour           float64
	egress, migration float64
}

// NewModel builds the integer program of a batch: each gang's feasible
// candidates (the same scan as Place: acceptable models, pin, restrictions,
// node shape, and quota left on its own), priced over the gang's expected
// duration, plus egress and migration.
func NewModel(p *placement.Placer, req *Request) (*Model, error) {
	m := &Model{req: req, noCandidates: map[int]error{}}
	quotas := p.Quotas()
	keyIdx := map[quota.Key]int{}
	for k := range quotas {
		m.keys = append(m.keys, k)
	}
	slices.SortFunc(m.keys, func(a, b quota.Key) int {
		return strings.Compare(a.Cloud+"/"+a.Region+"/"+a.GPUModel, b.Cloud+"/"+b.Region+"/"+b.GPUModel)
	})
	m.problem.Capacity = make([]float64, len(m.keys))
	for i, k := range m.keys {
		keyIdx[k] = i
		m.problem.Capacity[i] = float64(max(quotas[k]-req.Usage[k], 0))
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
		locs, err := datasetLocations(w, req.Locate)
		if err != nil {
			return nil, fmt.Errorf("gang %s: %w", workloadID(w), err)
		}
		var item milp.Item
		var infos []option
		cands, err := p.Candidates(&placement.Request{Workload: w, Restrictions: g.Restrictions, Usage: req.Usage})
		if err != nil {
			m.noCandidates[gi] = err
		}
		for _, pl := range cands {
			// nodes × node price is the product Place ranks candidates by,
			// so the gang's price here is the same to the bit.
			info := option{Placement: pl, perHour: float64(pl.Nodes) * pl.NodePricePerHour}
			o := pl.Offer
			for _, l := range locs {
				info.egress += l.gib * egress.PerGiB(l.loc, o.Cloud, o.Region)
			}
			if g.Current != nil && (g.Current.Cloud != o.Cloud || g.Current.Region != o.Region ||
				g.Current.InstanceType != o.InstanceType || (g.Current.CapacityType != "" && g.Current.CapacityType != string(pl.CapacityType))) {
				info.migration = req.MigrationPenalty
			}
			res := -1
			if i, ok := keyIdx[quota.Key{Cloud: o.Cloud, Region: o.Region, GPUModel: o.GPUModel}]; ok {
				res = i
			}
			item.Options = append(item.Options, milp.Option{
				Cost:     info.perHour*pl.EstimatedHours + info.egress + info.migration,
				Resource: res,
				Use:      float64(pl.GPUsHeld),
			})
			infos = append(infos, info)
		}
		m.problem.Items = append(m.problem.Items, item)
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
	return milp.WriteLP(w, &m.problem, m.lpNames())
}

// WritePresolvedLP exports the model after the solver's exact presolve, the
// instance the solver actually searches; variable names and comments keep
// the full model's numbering.
func (m *Model) WritePresolvedLP(w io.Writer) error {
	return milp.WritePresolvedLP(w, &m.problem, m.lpNames())
}

func (m *Model) lpNames() milp.LPNames {
	return milp.LPNames{
		Item: func(i int) string { return workloadID(m.gangs[i].Workload) },
		Option: func(i, j int) string {
			o := &m.opts[i][j]
			return fmt.Sprintf("%s/%s/%s %s × %d nodes", o.Offer.Cloud, o.Offer.Region, o.Offer.InstanceType, o.CapacityType, o.Nodes)
		},
		Resource: func(r int) string {
			k := m.keys[r]
			return fmt.Sprintf("%s/%s %s GPUs", k.Cloud, k.Region, k.GPUModel)
		},
	}
}

// Optimize builds and solves a batch.
func Optimize(ctx context.Context, p *placement.Placer, req *Request) (*Result, error) {
	m, err := NewModel(p, req)
	if err != nil {
		return nil, err
	}
	return m.Solve(ctx), nil
}

// workloadID names a workload as placement's errors do.
func workloadID(w *workload.Workload) string {
	if w == nil {
		return "<nil>"
	}
	return w.Kind + " " + w.ID()
}
