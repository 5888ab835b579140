package placement

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/queueing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// InferencePlacement is the offer and the replica count chosen together for
// an inference gang whose replica count is left to admission
// (quartermaster.io/replicas: auto, contract 4.1).
type InferencePlacement struct {
	// Placement is as Place's Best, for Replicas replicas.
	Placement Placement
	// Replicas is the fewest replicas of the GPU pod set that meet the
	// latency SLO on the placement's GPU model.
	Replicas int
	// Latency is the predicted response time at the SLO's quantile, and P99
	// the predicted p99 the decision records (contract 4.2).
	Latency, P99 time.Duration
	// Misses are the GPU models that cannot meet the SLO, and why.
	Misses []SizingMiss
}

// InferenceError is PlaceInference's answer when no offer can run the
// replicas the SLO needs: Misses say why per GPU model that cannot meet the
// objective, Needs the replicas each model that can would need, with no
// feasible offer for them (restrictions, pins, capacity, provisioning or
// quota).
type InferenceError struct {
	Workload string
	Misses   []SizingMiss
	Needs    map[string]int
}

func (e *InferenceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "placing %s for its inference SLO: no feasible offer", e.Workload)
	for _, m := range e.Misses {
		fmt.Fprintf(&b, "; %s: %s", m.GPUModel, m.Reason)
	}
	for _, m := range slices.Sorted(maps.Keys(e.Needs)) {
		fmt.Fprintf(&b, "; %s: no feasible offer for the %d replicas needed", m, e.Needs[m])
	}
	return b.String()
}

// PlaceInference chooses the offer and the replica count of an inference
// gang together: the cheapest nodes × node price, over the offers Place
// would consider (GPU models, restrictions, pins, node capacity, the
// provisioner and the quota left), of the fewest replicas that meet the
// workload's latency SLO on each offer's GPU model. Ties are broken as in
// Place.
//
// Choosing both at once reduces to the fewest replicas per GPU model: on
// one offer the price, ⌈replicas / replicas per node⌉ × node price, never
// falls as the count grows, and the quota left only shrinks, so no larger
// count is cheaper or feasible where the fewest is not.
//
// The request is Place's. Its workload must give a complete SLO (request
// rate, service time, latency SLO) and have exactly one GPU pod set, whose
// own replica count is ignored. No offer for any model is an
// *InferenceError.
func (p *Placer) PlaceInference(req *Request) (*InferencePlacement, error) {
	w := req.Workload
	ps, err := servingPodSet(w)
	if err != nil {
		return nil, err
	}
	inf := w.Inference
	restr := req.Restrictions
	if restr == nil {
		restr = &costing.Restrictions{}
	}
	models, ranks := p.candidateModels(w, restr)
	pinned := w.Pinned()
	res := &InferencePlacement{}
	needs := map[string]int{}
	var best candidate
	var bestMu float64
	for mi, model := range models {
		mu, ok := serviceRate(inf.ServiceTime.Seconds(), inf.ServiceTimeModel, model)
		if !ok {
			res.Misses = append(res.Misses, SizingMiss{model, "no relative speed known for this GPU model"})
			continue
		}
		c, err := queueing.Replicas(inf.RequestRate, mu, inf.SLOQuantile, inf.SLOLatency)
		if err != nil {
			res.Misses = append(res.Misses, SizingMiss{model, err.Error()})
			continue
		}
		needs[model] = c
		for _, op := range p.options(model, restr, w.Interruptible) {
			nodes := nodesForReplicas(c, replicasPerNode(ps, op.offer))
			if nodes == 0 {
				continue
			}
			if pinned && !w.Allows(&workload.Target{Cloud: op.offer.Cloud, Region: op.offer.Region, InstanceType: op.offer.InstanceType, CapacityType: string(op.capacity)}) {
				continue
			}
			if req.Provisioner != nil && !req.Provisioner.Provisionable(op.offer, op.capacity) {
				continue
			}
			if !p.quotaLeft(req.Usage, op.offer, nodes) {
				continue
			}
			cd := candidate{offer: op.offer, capacity: op.capacity, nodes: nodes, node: op.node, price: float64(nodes) * op.node, rank: ranks[mi]}
			if res.Replicas == 0 || cd.better(&best) {
				best, bestMu, res.Replicas = cd, mu, c
			}
		}
	}
	if res.Replicas == 0 {
		return nil, &InferenceError{Workload: workloadID(w), Misses: res.Misses, Needs: needs}
	}
	res.Placement = p.placement(w, &best, durationHours(w))
	tail := queueing.MMc{Lambda: inf.RequestRate, Mu: bestMu, C: res.Replicas}.Tail()
	res.Latency, res.P99 = seconds(tail.Quantile(inf.SLOQuantile)), seconds(tail.Quantile(0.99))
	res.Placement.Replicas, res.Placement.P99 = res.Replicas, res.P99.Round(100*time.Microsecond).String()
	return res, nil
}

// PredictSLO is the response time at the SLO's quantile of replicas
// replicas on GPU model (M/M/c, the service time scaled by the relative
// speeds). Admission warns with it when a workload gives its own replica
// count: the objective is missed when the prediction exceeds
// inf.SLOLatency. The error wraps queueing.ErrUnstable when the replicas
// cannot keep up with the rate at all.
func PredictSLO(inf *workload.InferenceSLO, model string, replicas int) (time.Duration, error) {
	if !completeSLO(inf) {
		return 0, fmt.Errorf("predicting the inference SLO: want a request rate, a service time and a latency SLO")
	}
	mu, ok := serviceRate(inf.ServiceTime.Seconds(), inf.ServiceTimeModel, model)
	if !ok {
		return 0, fmt.Errorf("predicting the inference SLO: no relative speed for %s or %s (known: %v)", inf.ServiceTimeModel, model, speedModels())
	}
	q := queueing.MMc{Lambda: inf.RequestRate, Mu: mu, C: replicas}
	if err := q.Validate(); err != nil {
		return 0, fmt.Errorf("predicting the inference SLO on %s: %w", model, err)
	}
	return seconds(q.Quantile(inf.SLOQuantile)), nil
}

// servingPodSet is the one GPU pod set of an inference workload with a
// complete SLO: sizing one replica count for several pod sets has no
// meaning.
func servingPodSet(w *workload.Workload) (*workload.PodSet, error) {
	if w == nil || !w.RequestsGPU() {
		return nil, fmt.Errorf("placing %s for its inference SLO: the workload requests no GPUs", workloadID(w))
	}
	if !completeSLO(w.Inference) {
		return nil, fmt.Errorf("placing %s for its inference SLO: want %s, %s and %s", workloadID(w),
			workload.AnnotationRequestRate, workload.AnnotationServiceTime, workload.AnnotationLatencySLO)
	}
	var ps *workload.PodSet
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count == 0 {
			continue
		}
		if ps != nil {
			return nil, fmt.Errorf("placing %s for its inference SLO: pod sets %s and %s both request GPUs; want one to size",
				workloadID(w), ps.Name, w.PodSets[i].Name)
		}
		ps = &w.PodSets[i]
	}
	return ps, nil
}

// seconds turns a float number of seconds into a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
