package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// DefaultAlternatives is how many runner-up offers a result carries.
const DefaultAlternatives = 3

// DefaultDuration prices workloads that do not say how long they run.
const DefaultDuration = time.Hour

// Placer picks placements from one catalog under one set of quotas. It is
// immutable and safe for concurrent use; build a new one to swap catalogs.
type Placer struct {
	catalog *costing.Catalog
	quotas  quota.GPUCounts
}

// New returns a Placer. quotas may be nil: no entry means no limit.
func New(catalog *costing.Catalog, quotas quota.GPUCounts) *Placer {
	return &Placer{catalog: catalog, quotas: quotas}
}

// Catalog returns the catalog placements come from.
func (p *Placer) Catalog() *costing.Catalog { return p.catalog }

// Quotas returns the GPU quotas placements are checked against (nil: none).
// The map is the Placer's own: callers must not modify it.
func (p *Placer) Quotas() quota.GPUCounts { return p.quotas }

// Request is one gang to place.
type Request struct {
	Workload     *workload.Workload
	Restrictions *costing.Restrictions
	// Usage is the GPUs already held per cloud region and model; nil is none.
	Usage quota.GPUCounts
	// Alternatives is how many runner-ups to return; 0 means the default,
	// negative means none.
	Alternatives int
	// Provisioner, when set, drops offers the cluster has no node or node
	// pool for (the provisionable filter); nil admits every offer.
	Provisioner Provisioner
}

// Result is the cheapest placement and its runner-ups, cheapest first.
type Result struct {
	Best         Placement
	Alternatives []Placement
	// Skipped is the cheapest offer cheaper than Best that the
	// provisionable filter removed; nil when there is none.
	Skipped *Skipped
}

// candidate is a placement under evaluation; kept small and on the stack.
type candidate struct {
	offer    *costing.Offer
	capacity costing.CapacityType
	nodes    int
	price    float64 // whole gang, per hour
	node     float64 // per node, per hour
	rank     int     // model preference order
}

// better orders candidates: cheaper, then preferred model, then on-demand
// before spot at equal price, then by name, so that results are stable.
func (a *candidate) better(b *candidate) bool {
	if a.price != b.price {
		return a.price < b.price
	}
	return cmp.Or(
		cmp.Compare(a.rank, b.rank),
		cmp.Compare(capRank(a.capacity), capRank(b.capacity)),
		cmp.Compare(a.offer.Cloud, b.offer.Cloud),
		cmp.Compare(a.offer.Region, b.offer.Region),
		cmp.Compare(a.offer.InstanceType, b.offer.InstanceType),
		cmp.Compare(a.offer.Zone, b.offer.Zone),
	) < 0
}

func capRank(c costing.CapacityType) int {
	if c == costing.OnDemand {
		return 0
	}
	return 1
}

// maxKept bounds the runner-up list so it can live on the stack.
const maxKept = 16

// Place returns the cheapest feasible placement of the request's gang, or a
// *NoFeasibleError. The workload must request GPUs.
func (p *Placer) Place(req *Request) (*Result, error) {
	w := req.Workload
	if w == nil || !w.RequestsGPU() {
		return nil, fmt.Errorf("placing %s: the workload requests no GPUs", workloadID(w))
	}
	restr := req.Restrictions
	if restr == nil {
		restr = &costing.Restrictions{}
	}
	keep := req.Alternatives
	switch {
	case keep == 0:
		keep = DefaultAlternatives
	case keep < 0:
		keep = 0
	}
	keep = min(keep+1, maxKept)

	top := topK{keep: keep}
	p.scan(w, restr, req.Usage, req.Provisioner, &top)
	n := top.n
	if n == 0 {
		return nil, p.diagnose(w, restr, req.Usage, req.Provisioner)
	}
	hours := durationHours(w)
	res := &Result{Best: p.placement(w, &top.items[0], hours)}
	if top.skipped && top.cheapestSkipped.better(&top.items[0]) {
		s := top.cheapestSkipped
		res.Skipped = &Skipped{Offer: s.offer, CapacityType: s.capacity, Nodes: s.nodes, PricePerHour: round(s.price, 4)}
	}
	if n > 1 {
		res.Alternatives = make([]Placement, n-1)
		for i := 1; i < n; i++ {
			res.Alternatives[i-1] = p.placement(w, &top.items[i], hours)
		}
	}
	return res, nil
}

// Candidates returns every feasible placement of the request's gang: the
// same filters as Place, but nothing pruned or ranked away, in the order the
// catalog is scanned. It returns the *NoFeasibleError Place would when there
// is none. The batch optimizer (internal/placement/batch) makes each one an
// option of the gang's choice; req.Alternatives is ignored.
func (p *Placer) Candidates(req *Request) ([]Placement, error) {
	w := req.Workload
	if w == nil || !w.RequestsGPU() {
		return nil, fmt.Errorf("placing %s: the workload requests no GPUs", workloadID(w))
	}
	restr := req.Restrictions
	if restr == nil {
		restr = &costing.Restrictions{}
	}
	hours := durationHours(w)
	var out []Placement
	p.scan(w, restr, req.Usage, req.Provisioner, &topK{collect: func(c *candidate) {
		out = append(out, p.placement(w, c, hours))
	}})
	if len(out) == 0 {
		return nil, p.diagnose(w, restr, req.Usage, req.Provisioner)
	}
	return out, nil
}

func durationHours(w *workload.Workload) float64 {
	d := w.ExpectedDuration
	if d <= 0 {
		d = DefaultDuration
	}
	return d.Hours()
}

func workloadID(w *workload.Workload) string {
	if w == nil {
		return "<nil>"
	}
	return w.Kind + " " + w.ID()
}

// topK keeps the cheapest candidates seen, best first. It is a value type
// with methods (not closures) so that candidates never escape to the heap.
//
// With collect set it keeps nothing and hands every feasible candidate to
// collect instead, without pruning: Candidates (for the batch optimizer)
// enumerates all options this way, through the same filters as Place.
type topK struct {
	items   [maxKept]candidate
	n       int
	keep    int
	collect func(*candidate)
	// cheapestSkipped is the cheapest candidate the provisionable filter
	// removed, when skipped is set.
	cheapestSkipped candidate
	skipped         bool
}

// full reports whether the list is full, so that worse offers can be pruned.
func (t *topK) full() bool { return t.collect == nil && t.n == t.keep }

// admits reports whether c would enter the list; scan asks before the quota
// lookup, so candidates that cannot matter cost no map access.
func (t *topK) admits(c *candidate) bool {
	return t.collect != nil || t.n < t.keep || c.better(&t.items[t.n-1])
}

// add inserts c in order, dropping the worst when full.
func (t *topK) add(c *candidate) {
	if t.collect != nil {
		cc := *c // only this branch pays for the copy escaping
		t.collect(&cc)
		return
	}
	i := t.n
	if t.n < t.keep {
		t.n++
	} else {
		i = t.n - 1
	}
	for i > 0 && c.better(&t.items[i-1]) {
		t.items[i] = t.items[i-1]
		i--
	}
	t.items[i] = *c
}

// each calls fn with every feasible candidate of w, unpruned.
func (p *Placer) each(w *workload.Workload, restr *costing.Restrictions, usage quota.GPUCounts, fn func(*candidate)) {
	p.scan(w, restr, usage, nil, &topK{collect: fn})
}

// scan offers every feasible candidate to top.
func (p *Placer) scan(w *workload.Workload, restr *costing.Restrictions, usage quota.GPUCounts, prov Provisioner, top *topK) {
	models, ranks := p.candidateModels(w, restr)
	pinned := w.Pinned()
	// Any placement pays at least demand × the offer's cheapest GPU-hour, and
	// offers come cheapest-first within a model: once that floor is above
	// the worst kept candidate, the rest of the model cannot matter. The
	// slack keeps float rounding from cutting off an exact tie.
	demand := gpuEquivalents(w) * (1 - 1e-9)
	spot := bySpot(w.Interruptible, restr)
	for mi, model := range models {
		for _, o := range p.catalog.ByUnitPrice(model, spot) {
			if top.full() {
				floor := o.PriceHourly
				if spot {
					floor = o.MinUnitPrice() * float64(o.GPUCount)
				}
				if demand*floor/float64(o.GPUCount) > top.items[top.n-1].price {
					break
				}
			}
			if !restr.AllowsOffer(o) {
				continue
			}
			nodes := nodesFor(w, o)
			if nodes == 0 {
				continue
			}
			for _, ct := range [2]costing.CapacityType{costing.OnDemand, costing.Spot} {
				price, ok := o.Price(ct)
				if !ok || !capacityAllowed(ct, w.Interruptible, restr) {
					continue
				}
				if pinned && !w.Allows(&workload.Target{Cloud: o.Cloud, Region: o.Region, InstanceType: o.InstanceType, CapacityType: string(ct)}) {
					continue
				}
				c := candidate{offer: o, capacity: ct, nodes: nodes, node: price, price: float64(nodes) * price, rank: ranks[mi]}
				if !top.admits(&c) {
					continue
				}
				if prov != nil && !prov.Provisionable(o, ct) {
					top.skip(&c)
					continue
				}
				if !p.quotaLeft(usage, o, nodes) {
					continue
				}
				top.add(&c)
			}
		}
	}
}

// bySpot reports whether the scan walks offers by spot price: the work is
// interruptible and the restrictions allow spot capacity.
func bySpot(interruptible bool, restr *costing.Restrictions) bool {
	return interruptible && costing.Allows(restr.CapacityTypes, string(costing.Spot))
}

// capacityAllowed reports whether work may run on capacity type ct: spot
// only when it is interruptible, and only types the restrictions allow. The
// scan and sizing (options) share it.
func capacityAllowed(ct costing.CapacityType, interruptible bool, restr *costing.Restrictions) bool {
	return (ct != costing.Spot || interruptible) && costing.Allows(restr.CapacityTypes, string(ct))
}

// candidateModels returns the models worth scanning and their preference
// ranks: the workload's acceptable models in its order (or every catalog
// model), narrowed by MIG support, GPU vendor and the policy's model list.
func (p *Placer) candidateModels(w *workload.Workload, restr *costing.Restrictions) ([]string, []int) {
	gpu := firstGPU(w)
	models, ranks := w.GPUModels, identityRanks(len(w.GPUModels))
	if len(models) == 0 {
		// No preference: every model ranks the same, and the cheapest
		// models go first so that pruning starts early.
		models, ranks = p.catalog.ModelsByFloor(bySpot(w.Interruptible, restr)), zeroRanks(len(p.catalog.Models()))
	}
	// The common case (no MIG, no policy model list, NVIDIA) filters
	// nothing, so return the lists themselves rather than copies.
	if gpu.MIG == nil && restr.GPUModels == nil && gpu.Resource != workload.ResourceAMDGPU && !anyAMD(models) {
		return models, ranks
	}
	var out []string
	var outRanks []int
	for i, m := range models {
		if gpu.MIG != nil && !slices.Contains(gpu.MIG.Models, m) {
			continue
		}
		if (gpu.Resource == workload.ResourceAMDGPU) != isAMD(m) {
			continue
		}
		if !costing.Allows(restr.GPUModels, m) {
			continue
		}
		out = append(out, m)
		outRanks = append(outRanks, ranks[i])
	}
	return out, outRanks
}

var rankTable = func() []int {
	r := make([]int, 256)
	for i := range r {
		r[i] = i
	}
	return r
}()

var zeroTable = make([]int, 256)

func zeroRanks(n int) []int {
	if n <= len(zeroTable) {
		return zeroTable[:n]
	}
	return make([]int, n)
}

func identityRanks(n int) []int {
	if n <= len(rankTable) {
		return rankTable[:n]
	}
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

func isAMD(model string) bool { return strings.HasPrefix(model, "MI") }

func anyAMD(models []string) bool { return slices.ContainsFunc(models, isAMD) }

func firstGPU(w *workload.Workload) workload.GPUDemand {
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count > 0 {
			return w.PodSets[i].GPU
		}
	}
	return workload.GPUDemand{}
}

// gpuEquivalents is the whole GPUs the gang occupies at best packing:
// Σ replicas × GPUs per replica, with MIG instances as fractions.
func gpuEquivalents(w *workload.Workload) float64 {
	var g float64
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		if ps.GPU.Count == 0 {
			continue
		}
		per := float64(ps.GPU.Count)
		if ps.GPU.MIG != nil {
			per /= float64(ps.GPU.MIG.PerGPU)
		}
		g += float64(ps.Replicas) * per
	}
	return g
}

// replicasPerNode is min(⌊G/g⌋, ⌊vCPUs/cpu⌋, ⌊memory/mem⌋), with G counted
// in MIG instances for MIG demand.
func replicasPerNode(ps *workload.PodSet, o *costing.Offer) int {
	slots := int64(o.GPUCount)
	if ps.GPU.MIG != nil {
		slots *= int64(ps.GPU.MIG.PerGPU)
	}
	per := slots / ps.GPU.Count
	if ps.CPUMilli > 0 {
		per = min(per, int64(o.VCPUs*1000)/ps.CPUMilli)
	}
	if ps.MemoryBytes > 0 {
		per = min(per, int64(o.MemoryGiB*(1<<30))/ps.MemoryBytes)
	}
	return int(max(per, 0))
}

// nodesFor is the number of nodes of offer o the gang needs, or 0 if a
// replica does not fit on one node. Pod sets do not share nodes.
func nodesFor(w *workload.Workload, o *costing.Offer) int {
	nodes := 0
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		if ps.GPU.Count == 0 || ps.Replicas == 0 {
			continue
		}
		per := replicasPerNode(ps, o)
		if per == 0 {
			return 0
		}
		nodes += (int(ps.Replicas) + per - 1) / per
	}
	return nodes
}

func (p *Placer) quotaLeft(usage quota.GPUCounts, o *costing.Offer, nodes int) bool {
	if len(p.quotas) == 0 {
		return true
	}
	k := quota.Key{Cloud: o.Cloud, Region: o.Region, GPUModel: o.GPUModel}
	q, limited := p.quotas[k]
	if !limited {
		return true
	}
	return usage[k]+int64(nodes)*int64(o.GPUCount) <= q
}

func (p *Placer) placement(w *workload.Workload, c *candidate, hours float64) Placement {
	pl := of(c.offer, c.capacity, c.nodes, c.node, c.price, hours)
	pl.ReplicasPerNode = make([]int, len(w.PodSets))
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count > 0 {
			pl.ReplicasPerNode[i] = replicasPerNode(&w.PodSets[i], c.offer)
		}
	}
	return pl
}

func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}
