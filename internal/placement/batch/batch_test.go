package batch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/milp"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

func twoCloudCatalog(t *testing.T) *costing.Catalog {
	t.Helper()
	c, err := costing.NewCatalog([]costing.Offer{
		{Cloud: "aws", Region: "us-east-1", InstanceType: "g6.xlarge", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 1.2},
		{Cloud: "gcp", Region: "us-central1", InstanceType: "g2-standard-4", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 1.5},
	}, nil, costing.Meta{AsOf: "2026-11-01"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func job(name string, replicas int32, hours int) *workload.Workload {
	return &workload.Workload{Kind: "Job", Namespace: "ns", Name: name, ExpectedDuration: time.Duration(hours) * time.Hour,
		PodSets: []workload.PodSet{{Name: "main", Replicas: replicas, GPU: workload.GPUDemand{Resource: "nvidia.com/gpu", Count: 1}}}}
}

// TestOptimizeWorkedExample is the example of docs/optimizer.md: 100
// GPU-hours at $1.2 or $1.5, the cheaper capped at 40: 40×1.2 + 60×1.5.
func TestOptimizeWorkedExample(t *testing.T) {
	p := placement.New(twoCloudCatalog(t), quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "L4"}: 40})
	req := &Request{}
	for i := range 10 {
		req.Gangs = append(req.Gangs, Gang{Workload: job("shard"+string(rune('a'+i)), 10, 1)})
	}
	res, err := Optimize(context.Background(), p, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Optimal || res.TotalCost != 138 || res.Gap != 0 || res.LowerBound != 138 {
		t.Fatalf("want optimal 138 with bound 138, got %+v", res)
	}
	aws := 0
	for _, a := range res.Assignments {
		if a.Cloud == "aws" {
			aws += a.Nodes
		}
	}
	if aws != 40 {
		t.Fatalf("%d GPUs on the cheaper cloud, want 40", aws)
	}
}

func TestOptimizeUnplaceable(t *testing.T) {
	tests := map[string]struct {
		quotas quota.GPUCounts
		gangs  []*workload.Workload
		want   string
	}{
		"no model": {
			gangs: []*workload.Workload{func() *workload.Workload { w := job("h100", 1, 1); w.GPUModels = []string{"H100"}; return w }()},
			want:  "the catalog has no offer of H100",
		},
		"quotas too small together": {
			quotas: quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "L4"}: 8, {Cloud: "gcp", Region: "us-central1", GPUModel: "L4"}: 8},
			gangs:  []*workload.Workload{job("a", 6, 1), job("b", 6, 1), job("c", 6, 1)},
			want:   "cannot hold it together",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := placement.New(twoCloudCatalog(t), tc.quotas)
			req := &Request{}
			for _, w := range tc.gangs {
				req.Gangs = append(req.Gangs, Gang{Workload: w})
			}
			res, err := Optimize(context.Background(), p, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != milp.StatusInfeasible || len(res.Unplaceable) == 0 || !strings.Contains(res.Unplaceable[0].Reason, tc.want) {
				t.Fatalf("want infeasible naming %q, got %+v", tc.want, res)
			}
		})
	}
}

// TestOptimizeEgressAndMigration: data in GCP tips the choice to GCP
// despite the price, and a migration penalty keeps a running gang put.
func TestOptimizeEgressAndMigration(t *testing.T) {
	p := placement.New(twoCloudCatalog(t), nil)
	w := job("data", 1, 1)
	w.Datasets = []string{"gs://bucket/set/"}
	w.DatasetSizeBytes = 100 << 30 // 100 GiB: $12 out of GCP, $0 inside it
	res, err := Optimize(context.Background(), p, &Request{Gangs: []Gang{{Workload: w}},
		Locate: func(string) (costing.Location, bool) {
			return costing.Location{Cloud: "gcp", Region: "us-central1"}, true
		}})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Assignments[0]; a.Cloud != "gcp" || a.EgressCost != 0 || a.Cost != 1.5 {
		t.Fatalf("want gcp at $1.5 without egress, got %+v", a)
	}
	res, err = Optimize(context.Background(), p, &Request{Gangs: []Gang{{Workload: job("running", 1, 1),
		Current: &workload.Target{Cloud: "gcp", Region: "us-central1", InstanceType: "g2-standard-4"}}}, MigrationPenalty: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Assignments[0]; a.Cloud != "gcp" || a.MigrationCost != 0 {
		t.Fatalf("a $1 penalty outweighs the $0.3 saving: want to stay on gcp, got %+v", a)
	}
}
