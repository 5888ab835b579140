package placement

import (
	"fmt"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// The filters a candidate passes, in order. NoFeasibleError.Stage names the
// one that left nothing.
const (
	StageModel        = "gpu-model"
	StagePin          = "pin"
	StageRestrictions = "restrictions"
	StagePinForbidden = "pin-forbidden"
	StageCapacity     = "capacity"
	// StageProvisionable is the provisionable filter: no Ready node and no
	// node pool of the cluster can provide the offer.
	StageProvisionable = "provisionable"
	StageQuota         = "quota"
)

// NoFeasibleError says that no offer can take the gang, and which filter
// emptied the candidate set.
type NoFeasibleError struct {
	Workload string
	Stage    string
	// Counts is how many candidates survived each stage, in order.
	Counts []StageCount
	Detail string
}

// StageCount is the number of (offer, capacity type) candidates left after a
// filter.
type StageCount struct {
	Stage string `json:"stage"`
	Left  int    `json:"left"`
}

func (e *NoFeasibleError) Error() string {
	return fmt.Sprintf("no feasible placement for %s: %s", e.Workload, e.Detail)
}

// diagnose re-runs the filters one by one, counting what survives each, to
// explain an empty result. It runs only on the failure path.
func (p *Placer) diagnose(w *workload.Workload, restr *costing.Restrictions, usage quota.GPUCounts, prov Provisioner) error {
	e := &NoFeasibleError{Workload: workloadID(w)}
	models, _ := p.candidateModels(w, restr)
	type cand struct {
		o  *costing.Offer
		ct costing.CapacityType
	}
	var all []cand
	for _, m := range models {
		offers := p.catalog.ModelOffers(m)
		for i := range offers {
			for _, ct := range []costing.CapacityType{costing.OnDemand, costing.Spot} {
				if _, ok := offers[i].Price(ct); ok && (ct == costing.OnDemand || w.Interruptible) {
					all = append(all, cand{&offers[i], ct})
				}
			}
		}
	}
	gpu := firstGPU(w)
	filter := func(stage string, keep func(c cand) bool) {
		out := all[:0]
		for _, c := range all {
			if keep(c) {
				out = append(out, c)
			}
		}
		all = out
		e.Counts = append(e.Counts, StageCount{stage, len(all)})
	}
	e.Counts = append(e.Counts, StageCount{StageModel, len(all)})
	if len(all) == 0 {
		e.Stage = StageModel
		want := "any model"
		if len(w.GPUModels) > 0 {
			want = strings.Join(w.GPUModels, ",")
		}
		e.Detail = fmt.Sprintf("the catalog has no offer of %s for %s", want, describeGPU(gpu))
		if restr.GPUModels != nil {
			e.Detail += fmt.Sprintf(" that policy allows (gpu model in [%s])", strings.Join(restr.GPUModels, ","))
		}
		return e
	}
	pinned := w.Pinned()
	filter(StagePin, func(c cand) bool {
		return !pinned || w.Allows(&workload.Target{Cloud: c.o.Cloud, Region: c.o.Region, InstanceType: c.o.InstanceType, CapacityType: string(c.ct)})
	})
	if len(all) == 0 {
		e.Stage = StagePin
		e.Detail = "the workload's own nodeSelector or required node affinity matches no offer in the catalog"
		return e
	}
	filter(StageRestrictions, func(c cand) bool {
		return restr.AllowsOffer(c.o) && costing.Allows(restr.CapacityTypes, string(c.ct))
	})
	if len(all) == 0 {
		e.Stage = StageRestrictions
		if pinned {
			e.Stage = StagePinForbidden
			e.Detail = "the workload pins a placement that policy forbids (" + restr.String() + ")" + reasons(restr)
		} else {
			e.Detail = "no offer satisfies the restrictions (" + restr.String() + ")" + reasons(restr)
		}
		return e
	}
	filter(StageCapacity, func(c cand) bool { return nodesFor(w, c.o) > 0 })
	if len(all) == 0 {
		e.Stage = StageCapacity
		e.Detail = fmt.Sprintf("no allowed node shape fits one replica (%s, %d mCPU, %d MiB memory per replica)",
			describeGPU(gpu), firstGPUSet(w).CPUMilli, firstGPUSet(w).MemoryBytes>>20)
		return e
	}
	if prov != nil {
		example := all[0]
		filter(StageProvisionable, func(c cand) bool { return prov.Provisionable(c.o, c.ct) })
		if len(all) == 0 {
			e.Stage = StageProvisionable
			e.Detail = fmt.Sprintf("the provisionable filter removed every offer that fits: no Ready node and no node pool of the cluster provides one (e.g. %s %s %s %s)",
				example.o.Cloud, example.o.Region, example.o.InstanceType, example.ct)
			return e
		}
	}
	filter(StageQuota, func(c cand) bool { return p.quotaLeft(usage, c.o, nodesFor(w, c.o)) })
	if len(all) == 0 {
		e.Stage = StageQuota
		e.Detail = fmt.Sprintf("every region that could take the gang (%d GPU replicas) has too little GPU quota left", w.TotalGPUReplicas())
		return e
	}
	// Unreachable unless scan and diagnose disagree; say so rather than lie.
	e.Stage = "internal"
	e.Detail = "candidates remain after every filter; this is a bug in placement"
	return e
}

func reasons(r *costing.Restrictions) string {
	if len(r.Reasons) == 0 {
		return ""
	}
	var parts []string
	for _, rs := range r.Reasons {
		s := rs.Reason
		if rs.Policy != "" {
			s += " [" + rs.Policy + "]"
		}
		parts = append(parts, s)
	}
	return ": " + strings.Join(parts, "; ")
}

func firstGPUSet(w *workload.Workload) *workload.PodSet {
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count > 0 {
			return &w.PodSets[i]
		}
	}
	return &workload.PodSet{}
}

func describeGPU(g workload.GPUDemand) string {
	if g.MIG != nil {
		return fmt.Sprintf("%d × MIG %s per replica", g.Count, g.MIG.Name)
	}
	return fmt.Sprintf("%d × %s per replica", g.Count, g.Resource)
}
