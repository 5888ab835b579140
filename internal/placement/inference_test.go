package placement

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/queueing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// serving is 40 requests/s at 120ms on the A100-80GB with p99 ≤ 1s: 6
// replicas on an A100-80GB, 4 on an H100 (73ms), none on an L4 (816ms,
// whose service time alone misses the p99) in testCatalog.
func serving(w *workload.Workload) {
	w.Kind = "Deployment"
	w.Inference = &workload.InferenceSLO{RequestRate: 40, ServiceTime: 120 * time.Millisecond, ServiceTimeModel: "A100-80GB",
		SLOQuantile: 0.99, SLOLatency: time.Second}
}

func TestPlaceInference(t *testing.T) {
	tests := map[string]struct {
		w     *workload.Workload
		restr *costing.Restrictions
		quota quota.GPUCounts
		prov  Provisioner
		// want is instance type, capacity, replicas, nodes and price.
		instance string
		capacity costing.CapacityType
		replicas int
		nodes    int
		price    float64
	}{
		"6 one-GPU A100-80GB nodes beat one 8-GPU node and 4 H100s": {
			w: gang(1, 1, serving), instance: "NC24ads_A100_v4", capacity: costing.OnDemand, replicas: 6, nodes: 6, price: 22.02,
		},
		"the replica count given is ignored": {
			w: gang(100, 1, serving), instance: "NC24ads_A100_v4", capacity: costing.OnDemand, replicas: 6, nodes: 6, price: 22.02,
		},
		"interruptible: 4 H100 replicas on one spot node": {
			w: gang(1, 1, serving, interruptible), instance: "a3-highgpu-8g", capacity: costing.Spot, replicas: 4, nodes: 1, price: 20,
		},
		"H100 only: 4 one-GPU nodes": {
			w: gang(1, 1, serving, models("H100")), instance: "NCC40ads_H100", capacity: costing.OnDemand, replicas: 4, nodes: 4, price: 30,
		},
		"policy keeps aws: one p5 for 4 H100 replicas": {
			w: gang(1, 1, serving), restr: &costing.Restrictions{Clouds: []string{"aws"}},
			instance: "p5.48xlarge", capacity: costing.OnDemand, replicas: 4, nodes: 1, price: 55,
		},
		"pinned to gcp": {
			w:        gang(1, 1, serving, pin(in(workload.FieldCloud, "gcp"))),
			instance: "a2-ultragpu-8g", capacity: costing.OnDemand, replicas: 6, nodes: 1, price: 28,
		},
		"quota leaves 4 A100-80GB in eastus: 6 replicas go to one 8-GPU node": {
			w: gang(1, 1, serving), quota: quota.GPUCounts{{Cloud: "azure", Region: "eastus", GPUModel: "A100-80GB"}: 4},
			instance: "a2-ultragpu-8g", capacity: costing.OnDemand, replicas: 6, nodes: 1, price: 28,
		},
		"30 vCPUs a replica: no A100-80GB node of 24, 3 a node on 96": {
			w: gang(1, 1, serving, cpuMem(30000, 1024)), instance: "NCC40ads_H100", capacity: costing.OnDemand, replicas: 4, nodes: 4, price: 30,
		},
		"2 GPUs a replica: 4 H100 replicas fill one p5, 6 A100-80GB two a2": {
			w: gang(1, 2, serving), instance: "p5.48xlarge", capacity: costing.OnDemand, replicas: 4, nodes: 1, price: 55,
		},
		"only p5 can be provisioned": {
			w: gang(1, 1, serving), prov: onlyInstances("p5.48xlarge"), instance: "p5.48xlarge", capacity: costing.OnDemand, replicas: 4, nodes: 1, price: 55,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := New(testCatalog(t), tc.quota)
			got, err := p.PlaceInference(&Request{Workload: tc.w, Restrictions: tc.restr, Provisioner: tc.prov})
			if err != nil {
				t.Fatal(err)
			}
			pl := got.Placement
			if pl.Offer.InstanceType != tc.instance || pl.CapacityType != tc.capacity || got.Replicas != tc.replicas || pl.Nodes != tc.nodes || pl.PricePerHour != tc.price {
				t.Fatalf("got %s %s, %d replicas on %d nodes at %v/h; want %s %s, %d on %d at %v/h",
					pl.Offer.InstanceType, pl.CapacityType, got.Replicas, pl.Nodes, pl.PricePerHour, tc.instance, tc.capacity, tc.replicas, tc.nodes, tc.price)
			}
			// The prediction is the one PredictSLO makes for that count,
			// and it meets the objective.
			inf := tc.w.Inference
			want, err := PredictSLO(inf, pl.Offer.GPUModel, got.Replicas)
			if err != nil || got.Latency != want || got.Latency > inf.SLOLatency || got.P99 != got.Latency {
				t.Fatalf("latency %v, p99 %v; PredictSLO %v, %v; SLO %v", got.Latency, got.P99, want, err, inf.SLOLatency)
			}
			// One replica fewer misses it on that model: the count is the
			// fewest.
			if fewer, err := PredictSLO(inf, pl.Offer.GPUModel, got.Replicas-1); err == nil && fewer <= inf.SLOLatency {
				t.Fatalf("%d replicas already meet the SLO (%v)", got.Replicas-1, fewer)
			}
			if tc.w.GPUModels == nil && (len(got.Misses) != 1 || got.Misses[0].GPUModel != "L4") {
				t.Errorf("misses %+v, want the L4", got.Misses)
			}
		})
	}
}

func TestPlaceInferenceErrors(t *testing.T) {
	twoSets := gang(1, 1, serving)
	twoSets.PodSets = append(twoSets.PodSets, workload.PodSet{Name: "draft", Replicas: 1, GPU: workload.GPUDemand{Count: 1}})
	tests := map[string]struct {
		w         *workload.Workload
		restr     *costing.Restrictions
		want      string
		inference bool // an *InferenceError
	}{
		"no SLO":           {w: gang(1, 1), want: "want quartermaster.io/request-rate"},
		"no GPU":           {w: gang(1, 0, serving), want: "requests no GPUs"},
		"two GPU pod sets": {w: twoSets, want: "pod sets template and draft both request GPUs"},
		"L4 only: the service time alone misses": {
			w: gang(1, 1, serving, models("L4")), inference: true, want: "L4: sizing: on this GPU the service time alone misses the p99 SLO",
		},
		"H100 in a region without one": {
			w: gang(1, 1, serving, models("H100")), restr: &costing.Restrictions{Regions: []string{"asia-northeast1"}},
			inference: true, want: "H100: no feasible offer for the 4 replicas needed",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(testCatalog(t), nil).PlaceInference(&Request{Workload: tc.w, Restrictions: tc.restr})
			var ie *InferenceError
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &ie) != tc.inference {
				t.Fatalf("err = %v, want it to contain %q (InferenceError %v)", err, tc.want, tc.inference)
			}
		})
	}
}

// TestPlaceInferenceAgreesWithSize: on the default catalog, with one GPU
// and nothing else per replica, the joint choice is qm size's cheapest
// offer.
func TestPlaceInferenceAgreesWithSize(t *testing.T) {
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	p := New(cat, nil)
	for name, rate := range map[string]float64{"3/s": 3, "40/s": 40, "1000/s": 1000} {
		t.Run(name, func(t *testing.T) {
			w := gang(1, 1, serving)
			w.Inference.RequestRate = rate
			got, err := p.PlaceInference(&Request{Workload: w})
			if err != nil {
				t.Fatal(err)
			}
			sized, err := p.Size(&SizingRequest{Rate: rate, ServiceTime: 120 * time.Millisecond, Quantile: 0.99, Latency: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			cheapest := sized.Offers[0]
			if got.Placement.PricePerHour != cheapest.PricePerHour || got.Replicas != cheapest.Replicas || got.Placement.Offer.GPUModel != cheapest.GPUModel {
				t.Fatalf("PlaceInference: %s %d replicas at %v/h; Size: %s %d at %v/h", got.Placement.Offer.GPUModel, got.Replicas,
					got.Placement.PricePerHour, cheapest.GPUModel, cheapest.Replicas, cheapest.PricePerHour)
			}
		})
	}
}

func TestPredictSLO(t *testing.T) {
	inf := &workload.InferenceSLO{RequestRate: 40, ServiceTime: 120 * time.Millisecond, SLOQuantile: 0.99, SLOLatency: time.Second}
	tests := map[string]struct {
		model    string
		replicas int
		meets    bool
		unstable bool
		err      string
	}{
		"6 A100-80GB meet p99 1s":  {model: "A100-80GB", replicas: 6, meets: true},
		"5 A100-80GB miss it":      {model: "A100-80GB", replicas: 5},
		"4 A100-80GB cannot cope":  {model: "A100-80GB", replicas: 4, unstable: true, err: "grows without bound"},
		"4 H100 meet it":           {model: "H100", replicas: 4, meets: true},
		"an unknown model":         {model: "Z9", replicas: 4, err: "no relative speed"},
		"as CheckSLO: 6 needed":    {model: "A100-80GB", replicas: 7, meets: true},
		"40 L4 still miss the p99": {model: "L4", replicas: 40},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := PredictSLO(inf, tc.model, tc.replicas)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, queueing.ErrUnstable) != tc.unstable {
					t.Fatalf("err = %v, want %q (unstable %v)", err, tc.err, tc.unstable)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if meets := got <= inf.SLOLatency; meets != tc.meets {
				t.Fatalf("p99 %v with %d on %s: meets %v, want %v", got, tc.replicas, tc.model, meets, tc.meets)
			}
			// CheckSLO, which admission warns with today, agrees.
			if warned := CheckSLO(inf, tc.model, tc.replicas) != ""; warned == tc.meets {
				t.Fatalf("CheckSLO warns %v, PredictSLO meets %v", warned, tc.meets)
			}
		})
	}
}
