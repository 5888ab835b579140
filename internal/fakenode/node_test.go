package fakenode

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// dnsLabelRE is what a label value (and so the hostname label) may be.
var dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func defaultOffers(t *testing.T) []costing.Offer {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatalf("loading the default catalog: %v", err)
	}
	return cat.Offers()
}

// TestNodesMatchCatalog checks every node of the whole default catalog against
// the offer it stands for: the contract between the fake fleet and placement.
func TestNodesMatchCatalog(t *testing.T) {
	keys := workload.DefaultLabelKeys()
	offers := defaultOffers(t)
	byKey := map[string]costing.Offer{}
	spot := 0
	for _, o := range offers {
		byKey[o.Key()] = o
		if o.HasSpot() {
			spot++
		}
	}
	nodes := Nodes(offers, Selector{}, keys)
	if want := len(offers) + spot; len(nodes) != want {
		t.Fatalf("got %d nodes, want %d (one per offer plus one per spot offer)", len(nodes), want)
	}
	names := map[string]bool{}
	for _, n := range nodes {
		meta := n["metadata"].(map[string]any)
		name := meta["name"].(string)
		if names[name] {
			t.Errorf("duplicate node name %s", name)
		}
		names[name] = true
		if len(name) > 63 || !dnsLabelRE.MatchString(name) {
			t.Errorf("node name %q is not a valid label value", name)
		}
		o, ok := byKey[meta["annotations"].(map[string]any)[OfferAnnotation].(string)]
		if !ok {
			t.Fatalf("%s: offer annotation names no catalog offer", name)
		}
		labels := meta["labels"].(map[string]any)
		for key, want := range map[string]string{
			keys.Cloud: o.Cloud, keys.Region: o.Region, keys.InstanceType: o.InstanceType,
			GPUProductLabel: o.GPUModel, "kubernetes.io/hostname": name,
		} {
			if labels[key] != want {
				t.Errorf("%s: label %s = %v, want %s", name, key, labels[key], want)
			}
		}
		status := n["status"].(map[string]any)
		for _, field := range []string{"capacity", "allocatable"} {
			res := status[field].(map[string]any)
			if res[GPUResource] != strconv.Itoa(o.GPUCount) {
				t.Errorf("%s: %s %s = %v, want %d", name, field, GPUResource, res[GPUResource], o.GPUCount)
			}
		}
		taints, _ := n["spec"].(map[string]any)["taints"].([]any)
		isSpot := labels[keys.CapacityType] == string(costing.Spot)
		if isSpot != (len(taints) == 1) {
			t.Errorf("%s: capacity type %v with %d taints, want the spot taint exactly on spot nodes", name, labels[keys.CapacityType], len(taints))
		}
		if isSpot && !o.HasSpot() {
			t.Errorf("%s: spot node for an offer without a spot price", name)
		}
	}
}

func TestSelector(t *testing.T) {
	offers := defaultOffers(t)
	tests := map[string]struct {
		sel   Selector
		check func(o map[string]any) bool
	}{
		"region and on-demand only": {
			sel: Selector{Regions: []string{"eastus"}, CapacityTypes: []costing.CapacityType{costing.OnDemand}},
			check: func(l map[string]any) bool {
				return l["topology.kubernetes.io/region"] == "eastus" && l["quartermaster.io/capacity-type"] == "on-demand"
			},
		},
		"cloud and model, spot, three each": {
			sel: Selector{Clouds: []string{"gcp"}, Models: []string{"H100"}, CapacityTypes: []costing.CapacityType{costing.Spot}, Count: 3},
			check: func(l map[string]any) bool {
				return l["quartermaster.io/cloud"] == "gcp" && l[GPUProductLabel] == "H100" && l["quartermaster.io/capacity-type"] == "spot"
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			nodes := Nodes(offers, tc.sel, workload.DefaultLabelKeys())
			if len(nodes) == 0 {
				t.Fatal("no nodes")
			}
			if c := max(tc.sel.Count, 1); len(nodes)%c != 0 {
				t.Errorf("%d nodes is not a multiple of the count %d", len(nodes), c)
			}
			for _, n := range nodes {
				labels := n["metadata"].(map[string]any)["labels"].(map[string]any)
				if !tc.check(labels) {
					t.Errorf("node %v does not match the selector", n["metadata"].(map[string]any)["name"])
				}
			}
		})
	}
}

func TestQuantities(t *testing.T) {
	for in, want := range map[float64]string{8: "8", 0.5: "500m", 2.25: "2250m"} {
		if got := cpuQuantity(in); got != want {
			t.Errorf("cpuQuantity(%v) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[float64]string{16: "16Gi", 0.5: "512Mi", 7.5: "7680Mi"} {
		if got := memoryQuantity(in); got != want {
			t.Errorf("memoryQuantity(%v) = %s, want %s", in, got, want)
		}
	}
}

// TestNodeFollowsLabelProfile checks the labels and taint of a spot and an
// on-demand node under each profile.
func TestNodeFollowsLabelProfile(t *testing.T) {
	o := costing.Offer{Cloud: "aws", Region: "us-east-1", InstanceType: "g6.xlarge", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 1, SpotPriceHourly: 0.5}
	tests := map[string]struct {
		spotLabels, odLabels map[string]string // expected placement labels
		taint                map[string]any    // on spot nodes; nil for none
	}{
		"quartermaster": {
			spotLabels: map[string]string{"quartermaster.io/cloud": "aws", "quartermaster.io/capacity-type": "spot"},
			odLabels:   map[string]string{"quartermaster.io/cloud": "aws", "quartermaster.io/capacity-type": "on-demand"},
			taint:      map[string]any{"key": "quartermaster.io/spot", "value": "true", "effect": "NoSchedule"},
		},
		"karpenter": {
			spotLabels: map[string]string{"karpenter.sh/capacity-type": "spot"},
			odLabels:   map[string]string{"karpenter.sh/capacity-type": "on-demand"},
		},
		"eks": {
			spotLabels: map[string]string{"eks.amazonaws.com/capacityType": "SPOT"},
			odLabels:   map[string]string{"eks.amazonaws.com/capacityType": "ON_DEMAND"},
		},
		"gke": {
			spotLabels: map[string]string{"cloud.google.com/gke-spot": "true"},
			odLabels:   map[string]string{},
			taint:      map[string]any{"key": "cloud.google.com/gke-spot", "value": "true", "effect": "NoSchedule"},
		},
		"aks": {
			spotLabels: map[string]string{"kubernetes.azure.com/scalesetpriority": "spot"},
			odLabels:   map[string]string{},
			taint:      map[string]any{"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"},
		},
	}
	placementKeys := []string{"quartermaster.io/cloud", "quartermaster.io/capacity-type", "karpenter.sh/capacity-type",
		"eks.amazonaws.com/capacityType", "cloud.google.com/gke-spot", "kubernetes.azure.com/scalesetpriority"}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			keys, err := workload.Profile(name)
			if err != nil {
				t.Fatal(err)
			}
			for ct, want := range map[costing.CapacityType]map[string]string{costing.Spot: tc.spotLabels, costing.OnDemand: tc.odLabels} {
				n := Node(o, ct, 0, keys)
				labels := n["metadata"].(map[string]any)["labels"].(map[string]any)
				got := map[string]string{}
				for _, k := range placementKeys {
					if v, ok := labels[k]; ok {
						got[k] = v.(string)
					}
				}
				if len(got) != len(want) {
					t.Errorf("%s labels = %v, want %v", ct, got, want)
				}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s label %s = %q, want %q", ct, k, got[k], v)
					}
				}
				if labels["topology.kubernetes.io/region"] != "us-east-1" || labels["node.kubernetes.io/instance-type"] != "g6.xlarge" {
					t.Errorf("%s: region or instance type missing: %v", ct, labels)
				}
				taints, _ := n["spec"].(map[string]any)["taints"].([]any)
				switch {
				case ct == costing.OnDemand && len(taints) > 0:
					t.Errorf("on-demand node tainted: %v", taints)
				case ct == costing.Spot && tc.taint == nil && len(taints) > 0:
					t.Errorf("spot node tainted: %v", taints)
				case ct == costing.Spot && tc.taint != nil && (len(taints) != 1 || fmt.Sprint(taints[0]) != fmt.Sprint(tc.taint)):
					t.Errorf("spot taints = %v, want %v", taints, tc.taint)
				}
			}
		})
	}
}
