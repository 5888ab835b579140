package placement

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// testCatalog is small enough to reason about by hand.
func testCatalog(t testing.TB) *costing.Catalog {
	t.Helper()
	offers := []costing.Offer{
		{Cloud: "aws", Region: "us-east-1", InstanceType: "p5.48xlarge", GPUModel: "H100", GPUCount: 8, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 55, SpotPriceHourly: 27},
		{Cloud: "aws", Region: "eu-west-1", InstanceType: "p5.48xlarge", GPUModel: "H100", GPUCount: 8, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 60, SpotPriceHourly: 30},
		{Cloud: "gcp", Region: "europe-west4", InstanceType: "a3-highgpu-8g", GPUModel: "H100", GPUCount: 8, VCPUs: 208, MemoryGiB: 1872, PriceHourly: 58, SpotPriceHourly: 20},
		{Cloud: "azure", Region: "eastus", InstanceType: "NCC40ads_H100", GPUModel: "H100", GPUCount: 1, VCPUs: 40, MemoryGiB: 320, PriceHourly: 7.5, Capabilities: []string{"confidential-computing"}},
		{Cloud: "gcp", Region: "us-central1", InstanceType: "g2-standard-4", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.7, SpotPriceHourly: 0.28},
		{Cloud: "gcp", Region: "us-central1", InstanceType: "g2-standard-48", GPUModel: "L4", GPUCount: 4, VCPUs: 48, MemoryGiB: 192, PriceHourly: 4, SpotPriceHourly: 1.6},
		{Cloud: "aws", Region: "us-east-1", InstanceType: "g6.xlarge", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8},
		{Cloud: "azure", Region: "eastus", InstanceType: "NC24ads_A100_v4", GPUModel: "A100-80GB", GPUCount: 1, VCPUs: 24, MemoryGiB: 220, PriceHourly: 3.67},
		{Cloud: "gcp", Region: "asia-northeast1", InstanceType: "a2-ultragpu-8g", GPUModel: "A100-80GB", GPUCount: 8, VCPUs: 96, MemoryGiB: 1360, PriceHourly: 28},
	}
	c, err := costing.NewCatalog(offers, nil, costing.Meta{AsOf: "2026-11-01"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gang builds a one-pod-set workload; options tweak it.
func gang(replicas int32, gpus int64, opts ...func(*workload.Workload)) *workload.Workload {
	w := &workload.Workload{Kind: "Job", Namespace: "ns", Name: "w", PodSets: []workload.PodSet{{
		Name: "template", Replicas: replicas, GPU: workload.GPUDemand{Resource: workload.ResourceNvidiaGPU, Count: gpus},
	}}}
	for _, o := range opts {
		o(w)
	}
	return w
}

func models(m ...string) func(*workload.Workload) {
	return func(w *workload.Workload) { w.GPUModels = m }
}
func interruptible(w *workload.Workload) { w.Interruptible = true }
func cpuMem(milli, mib int64) func(*workload.Workload) {
	return func(w *workload.Workload) { w.PodSets[0].CPUMilli, w.PodSets[0].MemoryBytes = milli, mib<<20 }
}
func pin(reqs ...workload.Requirement) func(*workload.Workload) {
	return func(w *workload.Workload) { w.PodSets[0].Pin = workload.Pin{Terms: [][]workload.Requirement{reqs}} }
}
func in(f workload.Field, v ...string) workload.Requirement {
	return workload.Requirement{Field: f, Operator: "In", Values: v}
}

func TestPlace(t *testing.T) {
	tests := map[string]struct {
		w        *workload.Workload
		restr    *costing.Restrictions
		quotas   quota.GPUCounts
		usage    quota.GPUCounts
		want     string // cloud/region/instance/capacity
		nodes    int
		price    float64
		wantAlts int
	}{
		"cheapest h100 gang on demand": {
			w: gang(4, 8, models("H100")), want: "aws/us-east-1/p5.48xlarge/on-demand", nodes: 4, price: 220, wantAlts: 2,
		},
		"interruptible takes spot": {
			w: gang(4, 8, models("H100"), interruptible), want: "gcp/europe-west4/a3-highgpu-8g/spot", nodes: 4, price: 80, wantAlts: 3,
		},
		"replicas pack per node": {
			w: gang(6, 2, models("H100")), want: "aws/us-east-1/p5.48xlarge/on-demand", nodes: 2, price: 110, wantAlts: 2,
		},
		"cpu limits replicas per node": {
			w: gang(4, 1, models("L4"), cpuMem(20000, 1024)), want: "gcp/us-central1/g2-standard-48/on-demand", nodes: 2, price: 8, wantAlts: 0,
		},
		"memory excludes small nodes": {
			w: gang(1, 1, models("L4"), cpuMem(1000, 32<<10)), want: "gcp/us-central1/g2-standard-48/on-demand", nodes: 1, price: 4, wantAlts: 0,
		},
		"jurisdiction restriction": {
			w: gang(1, 8, models("H100")), restr: &costing.Restrictions{Jurisdictions: []string{"eu"}},
			want: "gcp/europe-west4/a3-highgpu-8g/on-demand", nodes: 1, price: 58, wantAlts: 1,
		},
		"capability requirement": {
			w: gang(1, 1, models("H100")), restr: &costing.Restrictions{Capabilities: []string{"confidential-computing"}},
			want: "azure/eastus/NCC40ads_H100/on-demand", nodes: 1, price: 7.5, wantAlts: 0,
		},
		"capacity type restriction keeps on-demand": {
			w: gang(1, 8, models("H100"), interruptible), restr: &costing.Restrictions{CapacityTypes: []string{"on-demand"}},
			want: "aws/us-east-1/p5.48xlarge/on-demand", nodes: 1, price: 55, wantAlts: 2,
		},
		"quota pushes to next region": {
			w: gang(2, 8, models("H100")), quotas: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 24}, usage: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 16},
			want: "gcp/europe-west4/a3-highgpu-8g/on-demand", nodes: 2, price: 116, wantAlts: 1,
		},
		"quota exactly enough": {
			w: gang(2, 8, models("H100")), quotas: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 32}, usage: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 16},
			want: "aws/us-east-1/p5.48xlarge/on-demand", nodes: 2, price: 110, wantAlts: 2,
		},
		"any model picks the cheapest that fits": {
			w: gang(1, 1), want: "gcp/us-central1/g2-standard-4/on-demand", nodes: 1, price: 0.7, wantAlts: 3,
		},
		"model order breaks price ties": {
			w: gang(1, 1, models("H100", "L4")), restr: &costing.Restrictions{Regions: []string{"eastus", "us-east-1"}},
			want: "aws/us-east-1/g6.xlarge/on-demand", nodes: 1, price: 0.8, wantAlts: 2,
		},
		"pin is kept": {
			w: gang(1, 8, models("H100"), pin(in(workload.FieldCloud, "gcp"))), want: "gcp/europe-west4/a3-highgpu-8g/on-demand", nodes: 1, price: 58, wantAlts: 0,
		},
		"spot pin": {
			w:    gang(1, 8, models("H100"), interruptible, pin(in(workload.FieldCapacityType, "spot"), in(workload.FieldRegion, "eu-west-1"))),
			want: "aws/eu-west-1/p5.48xlarge/spot", nodes: 1, price: 30, wantAlts: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := New(testCatalog(t), tc.quotas)
			res, err := p.Place(&Request{Workload: tc.w, Restrictions: tc.restr, Usage: tc.usage})
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			b := res.Best
			got := b.Offer.Cloud + "/" + b.Offer.Region + "/" + b.Offer.InstanceType + "/" + string(b.CapacityType)
			if got != tc.want || b.Nodes != tc.nodes || b.PricePerHour != tc.price {
				t.Errorf("got %s × %d at %v/h, want %s × %d at %v/h", got, b.Nodes, b.PricePerHour, tc.want, tc.nodes, tc.price)
			}
			if len(res.Alternatives) != tc.wantAlts {
				t.Errorf("%d alternatives, want %d", len(res.Alternatives), tc.wantAlts)
			}
			prev := b.PricePerHour
			for _, a := range res.Alternatives {
				if a.PricePerHour < prev {
					t.Errorf("alternatives not sorted by price: %v after %v", a.PricePerHour, prev)
				}
				prev = a.PricePerHour
			}
			if b.GPUsHeld != int64(b.Nodes*b.Offer.GPUCount) {
				t.Errorf("GPUsHeld = %d, want nodes × G", b.GPUsHeld)
			}
		})
	}
}

func TestPlaceEstimatedCost(t *testing.T) {
	p := New(testCatalog(t), nil)
	w := gang(4, 8, models("H100"))
	w.ExpectedDuration = 36 * time.Hour
	res, err := p.Place(&Request{Workload: w})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.EstimatedCost != 220*36 || res.Best.EstimatedHours != 36 {
		t.Errorf("estimated cost %v over %v h, want 7920 over 36 h", res.Best.EstimatedCost, res.Best.EstimatedHours)
	}
	res, _ = p.Place(&Request{Workload: gang(1, 8, models("H100"))})
	if res.Best.EstimatedHours != 1 || res.Best.EstimatedCost != 55 {
		t.Errorf("default duration must be one hour: %+v", res.Best)
	}
}

func TestPlaceMIG(t *testing.T) {
	mig, err := workload.ParseMIGProfile("1g.10gb")
	if err != nil {
		t.Fatal(err)
	}
	w := gang(9, 1)
	w.PodSets[0].GPU = workload.GPUDemand{Resource: "nvidia.com/mig-1g.10gb", Count: 1, MIG: mig}
	p := New(testCatalog(t), nil)
	res, err := p.Place(&Request{Workload: w})
	if err != nil {
		t.Fatal(err)
	}
	// 9 slices: one A100-80GB (7 slices) is too few; 2 nodes × 3.67 = 7.34
	// beats one 8-GPU node (56 slices) at 28 and 7.5-per-GPU H100s.
	if b := res.Best; b.Offer.InstanceType != "NC24ads_A100_v4" || b.Nodes != 2 || b.ReplicasPerNode[0] != 7 {
		t.Errorf("got %s × %d (%v per node)", b.Offer.InstanceType, b.Nodes, b.ReplicasPerNode)
	}
	for _, a := range res.Alternatives {
		if m := a.Offer.GPUModel; m != "A100-80GB" && m != "H100" {
			t.Errorf("MIG 1g.10gb placed on %s", m)
		}
	}
}

func TestPlaceMultiplePodSets(t *testing.T) {
	w := &workload.Workload{Kind: "RayCluster", Name: "r", GPUModels: []string{"H100"}, PodSets: []workload.PodSet{
		{Name: "head", Replicas: 1, CPUMilli: 4000},
		{Name: "a", Replicas: 3, GPU: workload.GPUDemand{Resource: workload.ResourceNvidiaGPU, Count: 4}},
		{Name: "b", Replicas: 1, GPU: workload.GPUDemand{Resource: workload.ResourceNvidiaGPU, Count: 1}},
	}}
	res, err := New(testCatalog(t), nil).Place(&Request{Workload: w})
	if err != nil {
		t.Fatal(err)
	}
	// a: 2 per node → 2 nodes; b: 1 node; pod sets do not share nodes.
	if b := res.Best; b.Nodes != 3 || b.Offer.InstanceType != "p5.48xlarge" {
		t.Errorf("got %s × %d", b.Offer.InstanceType, b.Nodes)
	}
	if got := res.Best.ReplicasPerNode; got[0] != 0 || got[1] != 2 || got[2] != 8 {
		t.Errorf("replicas per node = %v", got)
	}
}

func TestPlaceNoFeasible(t *testing.T) {
	tests := map[string]struct {
		w      *workload.Workload
		restr  *costing.Restrictions
		quotas quota.GPUCounts
		stage  string
		msg    string
	}{
		"unknown model":       {w: gang(1, 1, models("B200")), stage: StageModel, msg: "no offer of B200"},
		"policy model list":   {w: gang(1, 1, models("L4")), restr: &costing.Restrictions{GPUModels: []string{"H100"}}, stage: StageModel, msg: "that policy allows"},
		"pin matches nothing": {w: gang(1, 8, models("H100"), pin(in(workload.FieldRegion, "mars-1"))), stage: StagePin, msg: "nodeSelector or required node affinity"},
		"restrictions": {w: gang(1, 8, models("H100")), restr: func() *costing.Restrictions {
			r := &costing.Restrictions{}
			r.Restrict(costing.FieldJurisdiction, []string{"jp"}, "data must stay in Japan", "residency")
			return r
		}(), stage: StageRestrictions, msg: "(jurisdiction in [jp]): data must stay in Japan [residency]"},
		"pin forbidden":      {w: gang(1, 8, models("H100"), pin(in(workload.FieldCloud, "aws"))), restr: &costing.Restrictions{Jurisdictions: []string{"jp"}}, stage: StagePinForbidden, msg: "pins a placement that policy forbids"},
		"too big for a node": {w: gang(1, 16), stage: StageCapacity, msg: "16 × nvidia.com/gpu per replica"},
		"quota":              {w: gang(1, 8, models("A100-80GB")), quotas: quota.GPUCounts{{Cloud: "gcp", Region: "asia-northeast1", GPUModel: "A100-80GB"}: 4}, stage: StageQuota, msg: "too little GPU quota"},
		"contradicting policies": {w: gang(1, 1), restr: func() *costing.Restrictions {
			r := &costing.Restrictions{}
			r.Restrict(costing.FieldCloud, []string{"aws"}, "a", "p1")
			r.Restrict(costing.FieldCloud, []string{"gcp"}, "b", "p2")
			return r
		}(), stage: StageRestrictions, msg: "cloud in []"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(testCatalog(t), tc.quotas).Place(&Request{Workload: tc.w, Restrictions: tc.restr})
			var nf *NoFeasibleError
			if !errors.As(err, &nf) || !isNoFeasible(err) {
				t.Fatalf("err = %v, want *NoFeasibleError", err)
			}
			if nf.Stage != tc.stage || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("stage %q, message %q; want stage %q containing %q", nf.Stage, err, tc.stage, tc.msg)
			}
		})
	}
}

func TestPlaceRejectsNonGPU(t *testing.T) {
	_, err := New(testCatalog(t), nil).Place(&Request{Workload: gang(1, 0)})
	if err == nil || isNoFeasible(err) {
		t.Fatalf("err = %v, want a plain error", err)
	}
}

// TestQuotaZeroIsEnforced: gpus: 0 forbids, as documented, rather than being
// ignored (issue 17 item 2).
func TestQuotaZeroIsEnforced(t *testing.T) {
	q, err := quota.ReadGPUCounts(strings.NewReader("quotas:\n- {cloud: azure, region: eastus, gpuModel: H100, gpus: 0}\n"), "quota", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := New(testCatalog(t), q).Place(&Request{Workload: gang(1, 1, func(w *workload.Workload) { w.GPUModels = []string{"H100"} })})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Best.Offer; o.Cloud == "azure" && o.Region == "eastus" {
		t.Errorf("placed on %s/%s under a quota of 0", o.Cloud, o.Region)
	}
}

// isNoFeasible reports whether err is (or wraps) a *NoFeasibleError.
func isNoFeasible(err error) bool {
	var nf *NoFeasibleError
	return errors.As(err, &nf)
}
