package placement

import (
	"fmt"
	"slices"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// TestOptionsAgreeWithScan: sizing's enumeration (options, then nodes and
// quota per count) lists exactly the candidates, in the same order, that
// the candidate scan lists for a one-pod-set gang of that model and count,
// so that the two cannot drift apart.
func TestOptionsAgreeWithScan(t *testing.T) {
	quotas := quota.GPUCounts{{Cloud: "gcp", Region: "us-central1", GPUModel: "L4"}: 6}
	restrictions := map[string]*costing.Restrictions{
		"none":           {},
		"on-demand only": {CapacityTypes: []string{string(costing.OnDemand)}},
		"spot only":      {CapacityTypes: []string{string(costing.Spot)}},
		"aws and gcp":    {Clouds: []string{"aws", "gcp"}},
		"no H100":        {GPUModels: []string{"L4", "A100-80GB"}},
		"confidential":   {Capabilities: []string{"confidential-computing"}},
	}
	p := New(testCatalog(t), quotas)
	cases, listed := 0, 0 // the guard against agreeing on empty lists
	for rname, restr := range restrictions {
		for _, model := range p.catalog.Models() {
			for _, spot := range []bool{false, true} {
				for _, size := range [][2]int{{1, 1}, {3, 1}, {5, 2}, {9, 8}} {
					replicas, gpus := size[0], size[1]
					t.Run(fmt.Sprintf("%s/%s/spot=%v/%dx%d", rname, model, spot, replicas, gpus), func(t *testing.T) {
						w := gang(int32(replicas), int64(gpus), models(model))
						w.Interruptible = spot
						var want, got []string
						p.each(w, restr, nil, func(c *candidate) {
							want = append(want, fmt.Sprintf("%s/%s/%s %s ×%d %v", c.offer.Cloud, c.offer.Region, c.offer.InstanceType, c.capacity, c.nodes, c.price))
						})
						for _, op := range p.options(model, restr, spot) {
							nodes := nodesForReplicas(replicas, op.offer.GPUCount/gpus)
							if nodes == 0 || !p.quotaLeft(nil, op.offer, nodes) {
								continue
							}
							got = append(got, fmt.Sprintf("%s/%s/%s %s ×%d %v", op.offer.Cloud, op.offer.Region, op.offer.InstanceType, op.capacity, nodes, float64(nodes)*op.node))
						}
						if !slices.Equal(got, want) {
							t.Fatalf("options:\n%v\nscan:\n%v", got, want)
						}
						cases++
						if len(want) > 0 {
							listed++
						}
					})
				}
			}
		}
	}
	if listed < cases/3 {
		t.Fatalf("only %d of %d cases listed any candidate: the test checks little", listed, cases)
	}
	t.Logf("%d of %d cases listed candidates", listed, cases)
	// The gang builder must not have been the only thing that agreed: a
	// workload-level filter the options do not see (a pin) does change
	// the scan, which is why PlaceInference applies pins itself.
	w := gang(1, 1, models("H100"), pin(in(workload.FieldCloud, "aws")))
	n := 0
	p.each(w, &costing.Restrictions{}, nil, func(*candidate) { n++ })
	if n == 0 || n == len(p.options("H100", &costing.Restrictions{}, false)) {
		t.Fatalf("a pin to aws left %d of the H100 candidates", n)
	}
}
