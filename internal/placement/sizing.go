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

// ErrRateTooLarge is returned when the replica count an SLO needs does not
// fit in MaxReplicas: the answer exists but no Kubernetes object can ask for
// it, so the service must be split.
var ErrRateTooLarge = errors.New("rate too large")

// sizingError is a sizing failure whose message says it all; kind
// (ErrUnstable or ErrRateTooLarge) is for errors.Is, not for the reader.
type sizingError struct {
	msg  string
	kind error
}

func (e *sizingError) Error() string { return e.msg }
func (e *sizingError) Unwrap() error { return e.kind }

// MaxReplicas is the largest replica count sizing answers with. It is the
// largest value of a workload's replica count (spec.replicas is an int32 in
// Kubernetes): a bigger answer is not a count any object can request.
const MaxReplicas = math.MaxInt32

// warmStartSigmas is how many standard deviations (√a) below the offered
// load a the Erlang B recursion starts. Each step of the recursion below a
// multiplies an error in its start value by k/a < 1, and over the last
// m·√a steps these factors multiply to about e^{−m²/2}; at m = 10 that is
// e^{−50} ≈ 2·10⁻²², far below float64 rounding, so a start from the fluid
// approximation B ≈ 1 − k/a is as good as the full recursion from k = 0.
const warmStartSigmas = 10

// erlangB is the Erlang B blocking probability B(c, a) by the recursion
// B(k) = a·B(k−1)/(k + a·B(k−1)), which only divides numbers in [0, 1] and
// so neither overflows nor cancels. For a large offered load it starts at
// k₀ = a − 10√a (see warmStartSigmas) rather than at 0, so it costs
// O(√a + c − a) steps instead of O(c): milliseconds for any a below
// MaxReplicas.
func erlangB(c int, a float64) float64 {
	k0 := 0
	b := 1.0
	if a > warmStartSigmas*warmStartSigmas {
		k0 = int(a - warmStartSigmas*math.Sqrt(a))
		k0 = min(k0, c)
		b = (a - float64(k0)) / a
	}
	for k := k0 + 1; k <= c && b > 0; k++ {
		// Far above the load b underflows to 0 and stays there: stop.
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// erlangCFromB turns B(c, a) into C(c, a) = c·B / (c − a·(1 − B)).
func erlangCFromB(c int, a, b float64) float64 {
	if a >= float64(c) {
		return 1
	}
	return float64(c) * b / (float64(c) - a*(1-b))
}

// ErlangC is the probability that a request waits in an M/M/c queue with
// offered load a = λ/μ, computed through the Erlang B recursion (stable
// for any number of servers, and started near a for a large load). It is
// 1 when a ≥ c.
func ErlangC(c int, a float64) float64 {
	if a >= float64(c) {
		return 1
	}
	return erlangCFromB(c, a, erlangB(c, a))
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
	if !(q.Lambda > 0) || !(q.Mu > 0) || q.C < 1 || math.IsInf(q.Lambda, 0) || math.IsInf(q.Mu, 0) {
		return fmt.Errorf("M/M/c: λ=%v, μ=%v, c=%d: want finite positive rates and at least one server", q.Lambda, q.Mu, q.C)
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
func (q MMc) Exceed(t float64) float64 { return q.tail().exceed(t) }

// Quantile is the response time t with P(T ≤ t) = p, by bisection on the
// monotone tail.
func (q MMc) Quantile(p float64) float64 { return q.tail().quantile(p) }

// tail computes Erlang C once, so that the bisections of Quantile and the
// replica search do not repeat the O(√a) recursion for every probe.
func (q MMc) tail() responseTail {
	a := q.Lambda / q.Mu
	return newTail(q.Mu, a, q.C, ErlangC(q.C, a))
}

// responseTail is the response-time distribution of an M/M/c queue with
// its Erlang C already known.
type responseTail struct {
	mu, theta, wait float64
}

func newTail(mu, a float64, c int, erlangC float64) responseTail {
	// θ = cμ − λ = μ(c − a): c − a first, so that a large load does not
	// cancel two nearly equal rates.
	return responseTail{mu: mu, theta: mu * (float64(c) - a), wait: erlangC}
}

func (r responseTail) exceed(t float64) float64 {
	if t <= 0 {
		return 1
	}
	mu, theta := r.mu, r.theta
	tail := 0.0
	if math.Abs(theta-mu) < 1e-9*mu {
		tail = (1 + mu*t) * math.Exp(-mu*t)
	} else {
		tail = (theta*math.Exp(-mu*t) - mu*math.Exp(-theta*t)) / (theta - mu)
	}
	return (1-r.wait)*math.Exp(-mu*t) + r.wait*tail
}

func (r responseTail) quantile(p float64) float64 {
	lo, hi := 0.0, 1/r.mu
	for r.exceed(hi) > 1-p {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if r.exceed(mid) > 1-p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// replicaScan walks replica counts upward from the smallest stable one,
// keeping Erlang B current in O(1) per step.
type replicaScan struct {
	mu, a float64
	c     int
	b     float64 // B(c, a)
}

// newReplicaScan starts at the smallest stable count, ⌊a⌋ + 1, or reports
// ErrRateTooLarge when even that exceeds MaxReplicas.
func newReplicaScan(lambda, mu float64) (*replicaScan, error) {
	a := lambda / mu
	if !(a < MaxReplicas) {
		return nil, &sizingError{msg: fmt.Sprintf("sizing: rate too large: %g requests/s at %.4g requests/s per replica is an offered load of %.4g replicas, above the %d one workload can ask for",
			lambda, mu, a, MaxReplicas), kind: ErrRateTooLarge}
	}
	c := int(math.Floor(a)) + 1
	return &replicaScan{mu: mu, a: a, c: c, b: erlangB(c, a)}, nil
}

func (s *replicaScan) tail() responseTail {
	return newTail(s.mu, s.a, s.c, erlangCFromB(s.c, s.a, s.b))
}

// next moves to c + 1; it reports false past MaxReplicas.
func (s *replicaScan) next() bool {
	if s.c >= MaxReplicas {
		return false
	}
	s.c++
	s.b = s.a * s.b / (float64(s.c) + s.a*s.b)
	return true
}

// Replicas is the smallest c with P(T > L) ≤ 1 − quantile. The search
// starts at the offered load (no smaller c is stable) and steps up with
// Erlang B kept current, so it takes O(√a) steps however large the rate.
// It returns ErrUnstable wrapped with the figures when even the service
// time alone misses the SLO (no c can help), and ErrRateTooLarge when the
// answer exceeds MaxReplicas.
func Replicas(lambda, mu, quantile float64, latency time.Duration) (int, error) {
	if !(lambda > 0) || !(mu > 0) || math.IsInf(lambda, 0) || math.IsInf(mu, 0) || !(quantile > 0 && quantile < 1) || latency <= 0 {
		return 0, fmt.Errorf("sizing: rate %v/s, service rate %v/s, quantile %v, latency %v: want finite positive rates, 0 < q < 1 and a positive latency", lambda, mu, quantile, latency)
	}
	L := latency.Seconds()
	// With infinitely many servers T = S: if S alone misses, nothing helps.
	if miss := math.Exp(-mu * L); miss > 1-quantile {
		return 0, &sizingError{msg: fmt.Sprintf("sizing: on this GPU the service time alone misses the p%g SLO of %v, whatever the replica count: "+
			"service times are exponential with mean %v, so P(service > %v) = %.3g%%, above the %.3g%% the SLO allows (service alone has p%g %v)",
			100*quantile, latency, roundDuration(1/mu), latency, 100*miss, 100*(1-quantile), 100*quantile,
			roundDuration(-math.Log(1-quantile)/mu)), kind: ErrUnstable}
	}
	s, err := newReplicaScan(lambda, mu)
	if err != nil {
		return 0, err
	}
	for {
		if s.tail().exceed(L) <= 1-quantile {
			return s.c, nil
		}
		if !s.next() {
			return 0, &sizingError{msg: fmt.Sprintf("sizing: rate too large: more than %d replicas needed at %g requests/s", MaxReplicas, lambda), kind: ErrRateTooLarge}
		}
	}
}

// roundDuration turns seconds into a duration rounded for reading.
func roundDuration(sec float64) time.Duration {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
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
	res := &SizingResult{Offers: []SizedOffer{}, Pareto: []SizedOffer{}}
	type sized struct {
		c  int
		mu float64
	}
	perModel := map[string]sized{}
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
		mu, ok := serviceRate(req, model)
		if !ok {
			res.Misses = append(res.Misses, SizingMiss{model, "no relative speed known for this GPU model"})
			continue
		}
		c, err := Replicas(req.Rate, mu, req.Quantile, req.Latency)
		if err != nil {
			if errors.Is(err, ErrRateTooLarge) {
				tooLarge++
			}
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
		// wait vanishes (C < 1e-4) for the Pareto front. The scan keeps
		// Erlang B current, and the quantiles are computed once per count,
		// not once per offer.
		scan, err := newReplicaScan(req.Rate, mu)
		if err != nil {
			res.Misses = append(res.Misses, SizingMiss{model, err.Error()})
			continue
		}
		for scan.c < c && scan.next() {
		}
		for cc := c; cc <= MaxReplicas; cc++ {
			tail := scan.tail()
			p50, p99 := round(1000*tail.quantile(0.5), 3), round(1000*tail.quantile(0.99), 3)
			util := round((MMc{req.Rate, mu, cc}).Utilisation(), 4)
			w.PodSets[0].Replicas = int32(cc)
			p.each(w, restr, nil, func(cd *candidate) {
				all = append(all, SizedOffer{
					Cloud: cd.offer.Cloud, Region: cd.offer.Region, InstanceType: cd.offer.InstanceType, GPUModel: model,
					CapacityType: cd.capacity, Replicas: cc, Nodes: cd.nodes, PricePerHour: round(cd.price, 4),
					P50Ms: p50, P99Ms: p99, Utilisation: util,
				})
			})
			if tail.wait < 1e-4 || cc >= c+64 || !scan.next() {
				break
			}
		}
	}
	if tooLarge > 0 && tooLarge == len(res.Misses) && len(perModel) == 0 {
		return nil, &sizingError{msg: fmt.Sprintf("sizing: rate too large: at %g requests/s every GPU model would need more than %d replicas, the most one workload can ask for; split the service",
			req.Rate, MaxReplicas), kind: ErrRateTooLarge}
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
