package fakenode

import (
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
