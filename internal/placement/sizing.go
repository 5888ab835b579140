package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// ReferenceModel is the GPU model whose relative speed is exactly 1.
const ReferenceModel = "A100-80GB"

// RelativeSpeed is each GPU model's serving speed relative to the A100-80GB,
// taken as the ratio of HBM/GDDR memory bandwidth from the vendors' data
// sheets (A100-80GB SXM 2,039 GB/s; H100 SXM 3,350; H200 4,800; A100-40GB
// 1,555; L40S 864; L4 300; A10G 600; A10 600; T4 320; V100 900; MI300X
// 5,300). Token generation in LLM serving is bound by memory bandwidth, so
// this is the first-order scaling of service time; it ignores batching,
// compute-bound prefill and interconnect. Measure your model on the target
// GPU and annotate service-time@MODEL to remove the approximation.
var RelativeSpeed = map[string]float64{
	"A100-80GB": 1.0,
	"H100":      3350.0 / 2039,
	"H200":      4800.0 / 2039,
	"A100":      1555.0 / 2039,
	"L40S":      864.0 / 2039,
	"L4":        300.0 / 2039,
	"A10G":      600.0 / 2039,
	"A10":       600.0 / 2039,
	"T4":        320.0 / 2039,
	"V100":      900.0 / 2039,
	"MI300X":    5300.0 / 2039,
}

// ErrUnstable is returned when no replica count can keep up: λ ≥ cμ.
var ErrUnstable = errors.New("unstable queue")

// ErlangC is the probability that a request waits in an M/M/c queue with
// offered load a = λ/μ, computed through the Erlang B recursion (stable for
// thousands of servers). It is 1 when a ≥ c.
func ErlangC(c int, a float64) float64 {
	if a >= float64(c) {
		return 1
	}
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return float64(c) * b / (float64(c) - a*(1-b))
}

// MMc is an M/M/c queue: Poisson arrivals at Lambda per second, c servers
// each with exponential service at Mu per second.
type MMc struct {
	Lambda, Mu float64
	C          int
}

// Stable reports whether the queue has a steady state (λ < cμ).
func (q MMc) Stable() bool { return q.Lambda < float64(q.C)*q.Mu }

// Validate refuses a queue without a steady state, naming the figures.
func (q MMc) Validate() error {
	if !(q.Lambda > 0) || !(q.Mu > 0) || q.C < 1 {
		return fmt.Errorf("M/M/c: λ=%v, μ=%v, c=%d: want positive rates and at least one server", q.Lambda, q.Mu, q.C)
	}
	if !q.Stable() {
		return fmt.Errorf("M/M/c: λ=%g/s ≥ cμ=%g/s (%d replicas × %g/s): the queue grows without bound: %w",
			q.Lambda, float64(q.C)*q.Mu, q.C, q.Mu, ErrUnstable)
	}
	return nil
}

// Utilisation is λ/(cμ).
func (q MMc) Utilisation() float64 { return q.Lambda / (float64(q.C) * q.Mu) }

// Exceed is P(T > t) for the response time T = W + S (wait plus service)
// in FCFS steady state. W is 0 with probability 1−C and otherwise
// exponential with rate θ = cμ − λ; S is exponential with rate μ, so
//
//	P(T > t) = (1−C)·e^{−μt} + C·(θe^{−μt} − μe^{−θt})/(θ − μ)   (θ ≠ μ)
//	P(T > t) = (1−C)·e^{−μt} + C·(1 + μt)·e^{−μt}                (θ = μ)
func (q MMc) Exceed(t float64) float64 {
	if t <= 0 {
		return 1
	}
	c := ErlangC(q.C, q.Lambda/q.Mu)
	mu, theta := q.Mu, float64(q.C)*q.Mu-q.Lambda
	tail := 0.0
	if math.Abs(theta-mu) < 1e-9*mu {
		tail = (1 + mu*t) * math.Exp(-mu*t)
	} else {
		tail = (theta*math.Exp(-mu*t) - mu*math.Exp(-theta*t)) / (theta - mu)
	}
	return (1-c)*math.Exp(-mu*t) + c*tail
}

// Quantile is the response time t with P(T ≤ t) = p, by bisection on the
// monotone tail.
func (q MMc) Quantile(p float64) float64 {
	lo, hi := 0.0, 1/q.Mu
	for q.Exceed(hi) > 1-p {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if q.Exceed(mid) > 1-p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// MaxReplicas bounds the search for a replica count.
const MaxReplicas = 100000

// Replicas is the smallest c with P(T > L) ≤ 1 − quantile. It returns
// ErrUnstable wrapped with the figures when even the service time alone
// misses the SLO (no c can help) or c would exceed MaxReplicas.
func Replicas(lambda, mu, quantile float64, latency time.Duration) (int, error) {
	if !(lambda > 0) || !(mu > 0) || !(quantile > 0 && quantile < 1) || latency <= 0 {
		return 0, fmt.Errorf("sizing: rate %v/s, service rate %v/s, quantile %v, latency %v: want positive rates, 0 < q < 1 and a positive latency", lambda, mu, quantile, latency)
	}
	L := latency.Seconds()
	// With infinitely many servers T = S: if S alone misses, nothing helps.
	if math.Exp(-mu*L) > 1-quantile {
		return 0, fmt.Errorf("sizing: the service time alone (mean %.4gs) exceeds the p%g SLO of %v on this GPU, whatever the replica count: %w",
			1/mu, 100*quantile, latency, ErrUnstable)
	}
	c := int(math.Floor(lambda/mu)) + 1 // the smallest stable count: λ < cμ
	for ; c <= MaxReplicas; c++ {
		if (MMc{lambda, mu, c}).Exceed(L) <= 1-quantile {
			return c, nil
		}
	}
	return 0, fmt.Errorf("sizing: more than %d replicas needed: %w", MaxReplicas, ErrUnstable)
}

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
	Restrictions   *Restrictions
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

// serviceRate is μ on model m, scaling the measured service time by the
// relative speeds.
func serviceRate(req *SizingRequest, model string) (float64, bool) {
	ref := req.ServiceModel
	if ref == "" {
		ref = ReferenceModel
	}
	sRef, ok1 := RelativeSpeed[ref]
	sM, ok2 := RelativeSpeed[model]
	if !ok1 || !ok2 {
		return 0, false
	}
	t := req.ServiceTime.Seconds() * sRef / sM
	return 1 / t, true
}

// Size sizes an inference service on every offer of the catalog.
func (p *Placer) Size(req *SizingRequest) (*SizingResult, error) {
	if !(req.Rate > 0) || req.ServiceTime <= 0 || !(req.Quantile > 0 && req.Quantile < 1) || req.Latency <= 0 {
		return nil, errors.New("sizing: want a positive rate, service time and latency, and 0 < quantile < 1")
	}
	if req.ServiceModel != "" {
		if _, ok := RelativeSpeed[req.ServiceModel]; !ok {
			return nil, fmt.Errorf("sizing: no relative speed for the service time's GPU model %q (known: %v)", req.ServiceModel, speedModels())
		}
	}
	gpus := max(req.GPUsPerReplica, 1)
	res := &SizingResult{Offers: []SizedOffer{}, Pareto: []SizedOffer{}}
	type sized struct {
		c  int
		mu float64
	}
	perModel := map[string]sized{}
	restr := req.Restrictions
	if restr == nil {
		restr = &Restrictions{}
	}
	var all []SizedOffer
	for _, model := range p.catalog.Models() {
		mu, ok := serviceRate(req, model)
		if !ok {
			res.Misses = append(res.Misses, SizingMiss{model, "no relative speed known for this GPU model"})
			continue
		}
		c, err := Replicas(req.Rate, mu, req.Quantile, req.Latency)
		if err != nil {
			res.Misses = append(res.Misses, SizingMiss{model, err.Error()})
			continue
		}
		perModel[model] = sized{c, mu}
		w := &workload.Workload{Kind: "Service", Name: "sizing", Interruptible: req.Interruptible, GPUModels: []string{model},
			PodSets: []workload.PodSet{{Name: "replicas", GPU: workload.GPUDemand{Resource: "nvidia.com/gpu", Count: gpus}}}}
		if isAMD(model) {
			w.PodSets[0].GPU.Resource = workload.ResourceAMDGPU
		}
		// Enumerate replica counts from the SLO's minimum up to where the
		// wait vanishes (C < 1e-4) for the Pareto front.
		for cc := c; cc <= MaxReplicas; cc++ {
			q := MMc{req.Rate, mu, cc}
			w.PodSets[0].Replicas = int32(min(cc, math.MaxInt32))
			p.each(w, restr, nil, func(cd *candidate) {
				all = append(all, SizedOffer{
					Cloud: cd.offer.Cloud, Region: cd.offer.Region, InstanceType: cd.offer.InstanceType, GPUModel: model,
					CapacityType: cd.capacity, Replicas: cc, Nodes: cd.nodes, PricePerHour: round(cd.price, 4),
					P50Ms: round(1000*q.Quantile(0.5), 3), P99Ms: round(1000*q.Quantile(0.99), 3),
					Utilisation: round(q.Utilisation(), 4),
				})
			})
			if ErlangC(cc, req.Rate/mu) < 1e-4 || cc >= c+64 {
				break
			}
		}
	}
	for _, s := range all {
		if s.Replicas == perModel[s.GPUModel].c {
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
	// Pareto front: walking by ascending cost, keep a point only if its p99
	// is strictly below every cheaper point's.
	best := math.Inf(1)
	for _, s := range all {
		if s.P99Ms < best {
			res.Pareto = append(res.Pareto, s)
			best = s.P99Ms
		}
	}
	return res, nil
}

func speedModels() []string {
	var out []string
	for m := range RelativeSpeed {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}
