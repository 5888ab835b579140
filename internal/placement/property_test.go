package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// bruteForce is an independent, deliberately naive statement of the
// single-gang rules: try every offer and capacity type, keep the cheapest.
func bruteForce(c *costing.Catalog, w *workload.Workload, r *costing.Restrictions, quotas, usage quota.GPUCounts) (float64, bool) {
	best, found := math.Inf(1), false
	for _, o := range c.Offers() {
		if len(w.GPUModels) > 0 && !slices.Contains(w.GPUModels, o.GPUModel) {
			continue
		}
		if r.GPUModels != nil && !slices.Contains(r.GPUModels, o.GPUModel) {
			continue
		}
		if (r.Clouds != nil && !slices.Contains(r.Clouds, o.Cloud)) ||
			(r.Regions != nil && !slices.Contains(r.Regions, o.Region)) ||
			(r.Jurisdictions != nil && !slices.Contains(r.Jurisdictions, o.Jurisdiction)) {
			continue
		}
		capOK := true
		for _, cp := range r.Capabilities {
			if !slices.Contains(o.Capabilities, cp) {
				capOK = false
			}
		}
		if !capOK {
			continue
		}
		nodes := 0
		for _, ps := range w.PodSets {
			if ps.GPU.Count == 0 {
				continue
			}
			per := o.GPUCount / int(ps.GPU.Count)
			if ps.CPUMilli > 0 {
				per = min(per, int(math.Floor(o.VCPUs*1000/float64(ps.CPUMilli))))
			}
			if ps.MemoryBytes > 0 {
				per = min(per, int(math.Floor(o.MemoryGiB*float64(1<<30)/float64(ps.MemoryBytes))))
			}
			if per < 1 {
				nodes = -1
				break
			}
			nodes += int(math.Ceil(float64(ps.Replicas) / float64(per)))
		}
		if nodes <= 0 {
			continue
		}
		k := quota.Key{Cloud: o.Cloud, Region: o.Region, GPUModel: o.GPUModel}
		if q, ok := quotas[k]; ok && usage[k]+int64(nodes*o.GPUCount) > q {
			continue
		}
		prices := map[costing.CapacityType]float64{}
		if r.CapacityTypes == nil || slices.Contains(r.CapacityTypes, "on-demand") {
			prices[costing.OnDemand] = o.PriceHourly
		}
		if w.Interruptible && o.SpotPriceHourly > 0 && (r.CapacityTypes == nil || slices.Contains(r.CapacityTypes, "spot")) {
			prices[costing.Spot] = o.SpotPriceHourly
		}
		for ct, p := range prices {
			t := workload.Target{Cloud: o.Cloud, Region: o.Region, InstanceType: o.InstanceType, CapacityType: string(ct)}
			if !w.Allows(&t) {
				continue
			}
			if cost := float64(nodes) * p; cost < best {
				best, found = cost, true
			}
		}
	}
	return best, found
}

// randomCatalog draws a small catalog with few clouds, regions and models so
// that ties, quotas and restrictions interact often.
func randomCatalog(rng *rand.Rand) (*costing.Catalog, error) {
	regions := []struct{ cloud, region string }{
		{"aws", "us-east-1"}, {"aws", "eu-west-1"}, {"gcp", "europe-west4"}, {"gcp", "asia-northeast1"}, {"azure", "eastus"}, {"azure", "uksouth"},
	}
	modelsList := []string{"H100", "A100", "L4", "T4"}
	n := 1 + rng.IntN(30)
	offers := make([]costing.Offer, 0, n)
	for i := 0; i < n; i++ {
		r := regions[rng.IntN(len(regions))]
		g := []int{1, 2, 4, 8}[rng.IntN(4)]
		o := costing.Offer{Cloud: r.cloud, Region: r.region, InstanceType: fmt.Sprintf("it-%d", i),
			GPUModel: modelsList[rng.IntN(len(modelsList))], GPUCount: g,
			VCPUs: float64(g * (2 + rng.IntN(24))), MemoryGiB: float64(g * (8 + rng.IntN(200))),
			// Prices on a coarse grid, so that exact ties happen.
			PriceHourly: float64(1+rng.IntN(40)) * 0.5}
		if rng.IntN(2) == 0 {
			o.SpotPriceHourly = float64(1+rng.IntN(int(o.PriceHourly*2))) * 0.25
			if o.SpotPriceHourly >= o.PriceHourly {
				o.SpotPriceHourly = 0
			}
		}
		if rng.IntN(4) == 0 {
			o.Capabilities = []string{"confidential-computing"}
		}
		offers = append(offers, o)
	}
	return costing.NewCatalog(offers, nil, costing.Meta{})
}

func randomSubset(rng *rand.Rand, from []string) []string {
	if rng.IntN(3) > 0 {
		return nil
	}
	out := []string{}
	for _, v := range from {
		if rng.IntN(2) == 0 {
			out = append(out, v)
		}
	}
	return out
}

// TestPlaceMatchesBruteForce compares Place with bruteForce over thousands of
// random catalogs, workloads, restrictions and quotas: the cost must be
// exactly equal, and Place must fail exactly when brute force finds nothing.
// Candidates, the same filters unranked, must agree too: its cheapest
// placement costs what brute force finds, to the bit (the batch optimizer
// prices gangs with it), and it fails with Place's diagnosis.
func TestPlaceMatchesBruteForce(t *testing.T) {
	const cases = 5000
	rng := rand.New(rand.NewPCG(1, 2))
	placed := 0
	for i := 0; i < cases; i++ {
		cat, err := randomCatalog(rng)
		if err != nil {
			t.Fatal(err)
		}
		w := gang(int32(1+rng.IntN(12)), int64([]int{1, 1, 2, 4, 8}[rng.IntN(5)]))
		if rng.IntN(3) == 0 {
			w.PodSets = append(w.PodSets, workload.PodSet{Name: "b", Replicas: int32(1 + rng.IntN(3)),
				GPU: workload.GPUDemand{Resource: workload.ResourceNvidiaGPU, Count: int64(1 + rng.IntN(2))}})
		}
		w.PodSets[0].CPUMilli = int64(rng.IntN(3)) * 4000
		w.PodSets[0].MemoryBytes = int64(rng.IntN(3)) * 32 << 30
		w.Interruptible = rng.IntN(2) == 0
		w.GPUModels = randomSubset(rng, []string{"H100", "A100", "L4", "T4"})
		if rng.IntN(5) == 0 {
			w.PodSets[0].Pin = workload.Pin{Terms: [][]workload.Requirement{{in(workload.FieldCloud, []string{"aws", "gcp", "azure"}[rng.IntN(3)])}}}
		}
		r := &costing.Restrictions{
			Clouds:        randomSubset(rng, []string{"aws", "gcp", "azure"}),
			Jurisdictions: randomSubset(rng, []string{"us", "eu", "uk", "jp"}),
			CapacityTypes: randomSubset(rng, []string{"on-demand", "spot"}),
		}
		if rng.IntN(5) == 0 {
			r.Capabilities = []string{"confidential-computing"}
		}
		quotas, usage := quota.GPUCounts{}, quota.GPUCounts{}
		for _, o := range cat.Offers() {
			if rng.IntN(3) == 0 {
				k := quota.Key{Cloud: o.Cloud, Region: o.Region, GPUModel: o.GPUModel}
				quotas[k] = int64(rng.IntN(64))
				usage[k] = int64(rng.IntN(16))
			}
		}
		want, ok := bruteForce(cat, w, r, quotas, usage)
		placer := New(cat, quotas)
		res, err := placer.Place(&Request{Workload: w, Restrictions: r, Usage: usage})
		cands, cerr := placer.Candidates(&Request{Workload: w, Restrictions: r, Usage: usage})
		cheapest := math.Inf(1)
		for _, c := range cands {
			cheapest = math.Min(cheapest, float64(c.Nodes)*c.NodePricePerHour)
		}
		switch {
		case !ok && err == nil:
			t.Fatalf("case %d: brute force finds nothing, Place found %+v", i, res.Best)
		case ok && err != nil:
			t.Fatalf("case %d: brute force finds %v/h, Place failed: %v", i, want, err)
		case ok && res.Best.PricePerHour != math.Round(want*1e4)/1e4:
			t.Fatalf("case %d: Place %v/h, brute force %v/h", i, res.Best.PricePerHour, want)
		case !ok && !isNoFeasible(err):
			t.Fatalf("case %d: want *NoFeasibleError, got %v", i, err)
		case ok && (cerr != nil || cheapest != want):
			t.Fatalf("case %d: Candidates' cheapest %v/h (err %v), brute force %v/h", i, cheapest, cerr, want)
		case !ok && (cerr == nil || cerr.Error() != err.Error()):
			t.Fatalf("case %d: Candidates %d placements, err %v; Place %v", i, len(cands), cerr, err)
		}
		if ok {
			placed++
		}
	}
	// Guard the generator: the property is worthless if almost every case
	// is infeasible (or feasible).
	if placed < cases/5 || placed > cases*95/100 {
		t.Errorf("%d of %d cases placed; the generator needs rebalancing", placed, cases)
	}
	t.Logf("%d of %d random cases placed", placed, cases)
}
