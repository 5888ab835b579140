package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/queueing"
)

// SizingRequest is one inference service to size.
type SizingRequest struct {
	Rate float64 // requests per second
	// ServiceTime is the mean time one replica takes per request on
	// ServiceModel (ReferenceModel when empty).
	ServiceTime  time.Duration
	ServiceModel string
	Quantile     float64 // e.g. 0.99
	Latency      time.Duration
	// GPUsPerReplica is whole GPUs per replica (default 1).
	GPUsPerReplica int64
	Restrictions   *costing.Restrictions
	Interruptible  bool
}

// SizedOffer is one offer sized for the SLO.
type SizedOffer struct {
	Cloud        string               `json:"cloud"`
	Region       string               `json:"region"`
	InstanceType string               `json:"instanceType"`
	GPUModel     string               `json:"gpuModel"`
	CapacityType costing.CapacityType `json:"capacityType"`
	Replicas     int                  `json:"replicas"`
	Nodes        int                  `json:"nodes"`
	PricePerHour float64              `json:"pricePerHour"`
	P50Ms        float64              `json:"p50Ms"`
	P99Ms        float64              `json:"p99Ms"`
	Utilisation  float64              `json:"utilisation"`
}

// SizingResult lists, per offer, the cheapest replica count meeting the SLO
// (cheapest first), the offers that cannot meet it, and the Pareto front of
// cost and p99 over offers and replica counts.
type SizingResult struct {
	Offers []SizedOffer `json:"offers"`
	Pareto []SizedOffer `json:"pareto"`
	Misses []SizingMiss `json:"misses,omitempty"`
}

// SizingMiss is a GPU model that cannot meet the SLO and why.
type SizingMiss struct {
	GPUModel string `json:"gpuModel"`
	Reason   string `json:"reason"`
}

// rateTooLargeError is Size's answer when every GPU model would need more
// replicas than one workload can ask for.
type rateTooLargeError struct{ rate float64 }

func (e *rateTooLargeError) Error() string {
	return fmt.Sprintf("sizing: rate too large: at %g requests/s every GPU model would need more than %d replicas, the most one workload can ask for; split the service",
		e.rate, queueing.MaxReplicas)
}

func (e *rateTooLargeError) Unwrap() error { return queueing.ErrRateTooLarge }

// Size sizes an inference service on every offer of the catalog: per GPU
// model the fewest replicas meeting the SLO (queueing.Replicas), then every
// offer the request may use at that count, and for the Pareto front the
// larger counts up to where waiting all but vanishes.
func (p *Placer) Size(req *SizingRequest) (*SizingResult, error) {
	if !(req.Rate > 0) || math.IsInf(req.Rate, 0) || req.ServiceTime <= 0 || !(req.Quantile > 0 && req.Quantile < 1) || req.Latency <= 0 {
		return nil, fmt.Errorf("sizing: rate %v/s, service time %v, quantile %v, latency %v: want a finite positive rate, a positive service time and latency, and 0 < quantile < 1",
			req.Rate, req.ServiceTime, req.Quantile, req.Latency)
	}
	if req.GPUsPerReplica < 0 {
		return nil, fmt.Errorf("sizing: %d GPUs per replica: want at least 1", req.GPUsPerReplica)
	}
	if req.ServiceModel != "" {
		if _, ok := RelativeSpeed[req.ServiceModel]; !ok {
			return nil, fmt.Errorf("sizing: no relative speed for the service time's GPU model %q (known: %v)", req.ServiceModel, speedModels())
		}
	}
	gpus := max(req.GPUsPerReplica, 1)
	res := &SizingResult{Offers: []SizedOffer{}}
	minReplicas := map[string]int{} // per model that can meet the SLO
	restr := req.Restrictions
	if restr == nil {
		restr = &costing.Restrictions{}
	}
	// A replica must fit on one node: say so per model before any queue
	// figure, so that 9 GPUs per replica is not blamed on the SLO.
	largest, anyModel := map[string]int{}, 0
	for _, o := range p.catalog.Offers() {
		largest[o.GPUModel] = max(largest[o.GPUModel], o.GPUCount)
		anyModel = max(anyModel, o.GPUCount)
	}
	if gpus > int64(anyModel) {
		return nil, fmt.Errorf("sizing: %d GPUs per replica: no node in the catalog has %d GPUs (the largest has %d)", gpus, gpus, anyModel)
	}
	var all []SizedOffer
	tooLarge := 0
	for _, model := range p.catalog.Models() {
		if n := largest[model]; gpus > int64(n) {
			res.Misses = append(res.Misses, SizingMiss{model, fmt.Sprintf("no %s node has %d GPUs (the largest has %d)", model, gpus, n)})
			continue
		}
		mu, ok := serviceRate(req.ServiceTime.Seconds(), req.ServiceModel, model)
		if !ok {
			res.Misses = append(res.Misses, SizingMiss{model, "no relative speed known for this GPU model"})
			continue
		}
		c, err := queueing.Replicas(req.Rate, mu, req.Quantile, req.Latency)
		if err != nil {
			if errors.Is(err, queueing.ErrRateTooLarge) {
				tooLarge++
			}
			res.Misses = append(res.Misses, SizingMiss{model, err.Error()})
			continue
		}
		minReplicas[model] = c
		if all, err = p.sizeModel(all, req, restr, model, mu, c); err != nil {
			res.Misses = append(res.Misses, SizingMiss{model, err.Error()})
		}
	}
	if tooLarge > 0 && tooLarge == len(res.Misses) && len(minReplicas) == 0 {
		return nil, &rateTooLargeError{req.Rate}
	}
	for _, s := range all {
		if s.Replicas == minReplicas[s.GPUModel] {
			res.Offers = append(res.Offers, s)
		}
	}
	order := func(a, b SizedOffer) int {
		return cmp.Or(cmp.Compare(a.PricePerHour, b.PricePerHour), cmp.Compare(a.P99Ms, b.P99Ms),
			cmp.Compare(a.Cloud, b.Cloud), cmp.Compare(a.Region, b.Region), cmp.Compare(a.InstanceType, b.InstanceType),
			cmp.Compare(a.CapacityType, b.CapacityType), cmp.Compare(a.Replicas, b.Replicas))
	}
	slices.SortFunc(res.Offers, order)
	slices.SortFunc(all, order)
	res.Pareto = queueing.Front(all, func(s *SizedOffer) float64 { return s.P99Ms })
	return res, nil
}

// sizeModel appends to all every offer of model at every replica count from the
// SLO's minimum c up to where the wait vanishes (P(wait) < 10⁻⁴), at most
// 64 more: the points of the Pareto front. The scan keeps Erlang B current
// from count to count, the quantiles are computed once per count, not once
// per offer, and the offers are listed once per model.
func (p *Placer) sizeModel(all []SizedOffer, req *SizingRequest, restr *costing.Restrictions, model string, mu float64, c int) ([]SizedOffer, error) {
	scan, err := queueing.NewScan(req.Rate, mu)
	if err != nil {
		return all, err
	}
	gpus := int(max(req.GPUsPerReplica, 1))
	opts := p.options(model, restr, req.Interruptible)
	for scan.Servers() < c && scan.Next() {
	}
	for cc := c; cc <= queueing.MaxReplicas; cc++ {
		tail := scan.Tail()
		p50, p99 := round(1000*tail.Quantile(0.5), 3), round(1000*tail.Quantile(0.99), 3)
		util := round((queueing.MMc{Lambda: req.Rate, Mu: mu, C: cc}).Utilisation(), 4)
		for i := range opts {
			op := &opts[i]
			nodes := nodesForReplicas(cc, op.offer.GPUCount/gpus)
			if nodes == 0 || !p.quotaLeft(nil, op.offer, nodes) {
				continue
			}
			all = append(all, SizedOffer{
				Cloud: op.offer.Cloud, Region: op.offer.Region, InstanceType: op.offer.InstanceType, GPUModel: model,
				CapacityType: op.capacity, Replicas: cc, Nodes: nodes, PricePerHour: round(float64(nodes)*op.node, 4),
				P50Ms: p50, P99Ms: p99, Utilisation: util,
			})
		}
		if tail.Wait() < 1e-4 || cc >= c+64 || !scan.Next() {
			break
		}
	}
	return all, nil
}
