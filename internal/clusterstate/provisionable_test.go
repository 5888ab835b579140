package clusterstate

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/costing/costingtest"
	"github.com/quartermaster-io/quartermaster/internal/fakenode"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

var (
	p5      = &costing.Offer{Cloud: "aws", Region: "us-east-1", InstanceType: "p5.48xlarge", GPUModel: "H100", GPUCount: 8, VCPUs: 192, MemoryGiB: 2048}
	g6      = &costing.Offer{Cloud: "aws", Region: "us-east-1", InstanceType: "g6.xlarge", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16}
	g6west  = &costing.Offer{Cloud: "aws", Region: "us-west-2", InstanceType: "g6.xlarge", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16}
	g2      = &costing.Offer{Cloud: "gcp", Region: "us-central1", InstanceType: "g2-standard-4", GPUModel: "L4", GPUCount: 1, VCPUs: 4, MemoryGiB: 16}
	ncAzure = &costing.Offer{Cloud: "azure", Region: "eastus", InstanceType: "Standard_NC24ads_A100_v4", GPUModel: "A100-80GB", GPUCount: 1, VCPUs: 24, MemoryGiB: 220}
)

func profile(t testing.TB, name string) workload.LabelKeys {
	t.Helper()
	k, err := workload.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pool(reqs ...Requirement) NodePool { return NodePool{Name: "p", Requirements: reqs} }

func req(key, op string, values ...string) Requirement {
	return Requirement{Key: key, Operator: op, Values: values}
}

// TestProvisionable checks the filter's answer per offer and capacity type
// for nodes and NodePool requirements under several profiles.
func TestProvisionable(t *testing.T) {
	type probe struct {
		o    *costing.Offer
		ct   costing.CapacityType
		want bool
	}
	od, spot := costing.OnDemand, costing.Spot
	tests := map[string]struct {
		profile string
		nodes   []map[string]string
		pools   []NodePool
		probes  []probe
	}{
		"nothing provisions nothing": {
			profile: "karpenter",
			probes:  []probe{{p5, od, false}, {g6, spot, false}},
		},
		"a karpenter node provides its offer and capacity type only": {
			profile: "karpenter",
			nodes: []map[string]string{{"topology.kubernetes.io/region": "us-east-1", "node.kubernetes.io/instance-type": "g6.xlarge",
				"karpenter.sh/capacity-type": "spot"}},
			probes: []probe{{g6, spot, true}, {g6, od, false}, {g6west, spot, false}, {p5, spot, false}},
		},
		"a gke node without the spot label is on-demand": {
			profile: "gke",
			nodes:   []map[string]string{{"topology.kubernetes.io/region": "us-central1", "node.kubernetes.io/instance-type": "g2-standard-4"}},
			probes:  []probe{{g2, od, true}, {g2, spot, false}},
		},
		"single-cloud profile refuses other clouds": {
			profile: "karpenter",
			pools:   []NodePool{pool()},
			probes:  []probe{{p5, od, true}, {p5, spot, true}, {g2, od, false}, {ncAzure, od, false}},
		},
		"pool restricted to two instance types": {
			profile: "karpenter",
			pools: []NodePool{pool(req("node.kubernetes.io/instance-type", "In", "g6.xlarge", "g5.xlarge"),
				req("karpenter.sh/capacity-type", "In", "on-demand"))},
			probes: []probe{{g6, od, true}, {g6west, od, true}, {g6, spot, false}, {p5, od, false}},
		},
		"NotIn region and DoesNotExist on a known label": {
			profile: "karpenter",
			pools: []NodePool{
				pool(req("topology.kubernetes.io/region", "NotIn", "us-east-1")),
				pool(req("node.kubernetes.io/instance-type", "DoesNotExist")),
			},
			probes: []probe{{g6, od, false}, {g6west, od, true}},
		},
		"Exists on a known label, custom labels ignored": {
			profile: "karpenter",
			pools: []NodePool{pool(req("karpenter.sh/capacity-type", "Exists"), req("example.com/team", "In", "ml"),
				req("kubernetes.io/arch", "In", "amd64"))},
			probes: []probe{{g6, spot, true}, {p5, od, true}},
		},
		"aws instance family and Gt on GPU count": {
			profile: "eks",
			pools: []NodePool{pool(req("karpenter.k8s.aws/instance-family", "In", "p5", "g6"),
				req("karpenter.k8s.aws/instance-gpu-count", "Gt", "4"))},
			probes: []probe{{p5, od, true}, {g6, od, false}},
		},
		"Lt on memory in MiB": {
			profile: "karpenter",
			pools:   []NodePool{pool(req("karpenter.k8s.aws/instance-memory", "Lt", "32768"))},
			probes:  []probe{{g6, od, true}, {p5, od, false}},
		},
		"instance cpu In on aws": {
			profile: "karpenter",
			pools:   []NodePool{pool(req("karpenter.k8s.aws/instance-cpu", "In", "4", "8"))},
			probes:  []probe{{g6, od, true}, {p5, od, false}},
		},
		"azure sku name and gpu count": {
			profile: "aks",
			pools: []NodePool{pool(req("karpenter.azure.com/sku-name", "In", "Standard_NC24ads_A100_v4"),
				req("karpenter.azure.com/sku-gpu-count", "Lt", "2"))},
			probes: []probe{{ncAzure, od, true}, {ncAzure, spot, true}, {g6, od, false}},
		},
		"zone requirement only limits offers with a zone": {
			profile: "karpenter",
			pools:   []NodePool{pool(req("topology.kubernetes.io/zone", "In", "us-east-1a"))},
			probes: []probe{{g6, od, true}, {&costing.Offer{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1b", InstanceType: "g6.xlarge"}, od, false},
				{&costing.Offer{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "g6.xlarge"}, od, true}},
		},
		"multi-cloud profile needs the pool to name its cloud": {
			profile: "quartermaster",
			pools: []NodePool{pool(req("node.kubernetes.io/instance-type", "In", "g6.xlarge")),
				pool(req("quartermaster.io/cloud", "In", "gcp"))},
			probes: []probe{{g6, od, false}, {g2, od, true}, {g2, spot, true}},
		},
		"quartermaster nodes keep today's labels": {
			profile: "quartermaster",
			nodes: []map[string]string{{"quartermaster.io/cloud": "azure", "topology.kubernetes.io/region": "eastus",
				"node.kubernetes.io/instance-type": "Standard_NC24ads_A100_v4", "quartermaster.io/capacity-type": "on-demand"}},
			probes: []probe{{ncAzure, od, true}, {ncAzure, spot, false}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			keys := profile(t, tc.profile)
			var nodes []nodeKey
			for _, l := range tc.nodes {
				nodes = append(nodes, keyOfNode(keys, l))
			}
			p := newProvisionable(keys, nodes, tc.pools)
			for _, pr := range tc.probes {
				if got := p.Provisionable(pr.o, pr.ct); got != pr.want {
					t.Errorf("%s %s %s %s: provisionable = %v, want %v", pr.o.Cloud, pr.o.Region, pr.o.InstanceType, pr.ct, got, pr.want)
				}
			}
		})
	}
}

// TestProvisionableAllocatesNothing guards the admission hot path.
func TestProvisionableAllocatesNothing(t *testing.T) {
	keys := profile(t, "karpenter")
	p := newProvisionable(keys, []nodeKey{{"aws", "us-east-1", "p5.48xlarge", costing.OnDemand}}, []NodePool{
		pool(req("node.kubernetes.io/instance-type", "In", "g6.xlarge", "g5.xlarge"), req("karpenter.k8s.aws/instance-gpu-count", "In", "1"),
			req("karpenter.k8s.aws/instance-memory", "Gt", "1024"), req("karpenter.sh/capacity-type", "NotIn", "spot")),
	})
	if n := testing.AllocsPerRun(100, func() {
		p.Provisionable(g6, costing.OnDemand)
		p.Provisionable(p5, costing.OnDemand)
		p.Provisionable(g2, costing.Spot)
	}); n != 0 {
		t.Errorf("allocations per lookup = %v, want 0", n)
	}
}

func TestParseNodePool(t *testing.T) {
	obj := map[string]any{
		"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": map[string]any{"name": "gpu"},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"team": "ml"}},
			"spec": map[string]any{"requirements": []any{
				map[string]any{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": []any{"g6.xlarge"}},
				map[string]any{"key": "karpenter.sh/capacity-type", "operator": "Exists"},
			}}}},
	}
	np, err := ParseNodePool(obj)
	if err != nil {
		t.Fatal(err)
	}
	if np.Name != "gpu" || len(np.Requirements) != 3 || np.Requirements[0].Key != "team" || np.Requirements[1].Values[0] != "g6.xlarge" {
		t.Errorf("pool = %+v", np)
	}
	bad := map[string]any{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"requirements": []any{map[string]any{"key": "k", "operator": "Like"}}}}}}
	if _, err := ParseNodePool(bad); err == nil || !strings.Contains(err.Error(), `operator "Like"`) {
		t.Errorf("err = %v", err)
	}
}

func TestSnapshotProvisioner(t *testing.T) {
	state := `
apiVersion: v1
kind: Node
metadata: {name: ready, labels: {topology.kubernetes.io/region: us-east-1, node.kubernetes.io/instance-type: p5.48xlarge, karpenter.sh/capacity-type: on-demand}}
status: {conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Node
metadata: {name: notready, labels: {topology.kubernetes.io/region: us-west-2, node.kubernetes.io/instance-type: g6.xlarge, karpenter.sh/capacity-type: on-demand}}
status: {conditions: [{type: Ready, status: "False"}]}
---
apiVersion: v1
kind: Node
metadata: {name: cordoned, labels: {topology.kubernetes.io/region: us-east-1, node.kubernetes.io/instance-type: g6.xlarge, karpenter.sh/capacity-type: on-demand}}
spec: {unschedulable: true}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: l4}
spec:
  template:
    spec:
      requirements:
        - {key: node.kubernetes.io/instance-type, operator: In, values: [g6.xlarge]}
        - {key: topology.kubernetes.io/region, operator: In, values: [us-west-2]}
`
	s, err := ReadSnapshot(strings.NewReader(state), nil)
	if err != nil {
		t.Fatal(err)
	}
	prov, holds := s.Provisioner(profile(t, "karpenter"))
	if !holds {
		t.Fatal("the snapshot holds nodes and NodePools")
	}
	for _, pr := range []struct {
		o    *costing.Offer
		want bool
	}{{p5, true}, {g6west, true}, {g6, false}} {
		if got := prov.Provisionable(pr.o, costing.OnDemand); got != pr.want {
			t.Errorf("%s %s: %v, want %v", pr.o.Region, pr.o.InstanceType, got, pr.want)
		}
	}
	empty, err := ReadSnapshot(strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, holds := empty.Provisioner(profile(t, "karpenter")); holds {
		t.Error("a snapshot without nodes or NodePools says it holds some")
	}
}

func nodePoolObject(name string, instanceTypes ...string) *unstructured.Unstructured {
	vals := make([]any, len(instanceTypes))
	for i, v := range instanceTypes {
		vals[i] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"requirements": []any{
			map[string]any{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": vals}}}}},
	}}
}

// TestInformersProvisionable follows nodes and NodePools through watches,
// and runs without the NodePool CRD.
func TestInformersProvisionable(t *testing.T) {
	ready := func(name, it string, ok corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"topology.kubernetes.io/region": "us-east-1", "node.kubernetes.io/instance-type": it, "karpenter.sh/capacity-type": "on-demand"}},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ok}}}}
	}
	for name, crd := range map[string]bool{"with the NodePool CRD": true, "without the CRD": false} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(ready("n1", "p5.48xlarge", corev1.ConditionTrue), ready("n2", "g6.xlarge", corev1.ConditionFalse))
			if crd {
				client.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
					GroupVersion: "karpenter.sh/v1", APIResources: []metav1.APIResource{{Name: "nodepools", Kind: "NodePool"}}}}
			}
			scheme := runtime.NewScheme()
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
				map[schema.GroupVersionResource]string{NodePoolGVR: "NodePoolList"}, nodePoolObject("pool-a", "g5.xlarge"))
			inf, err := NewInformers(client, InformerOptions{Debounce: time.Millisecond, Labels: profile(t, "karpenter"), Provisionable: true, Dynamic: dyn})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			inf.Start(ctx)
			if !waitForSync(ctx, inf) {
				t.Fatal("caches did not sync")
			}
			prov := inf.Provisioner()
			if pools := inf.NodePoolsWatched(); pools != crd {
				t.Fatalf("pools watched = %v, want %v", pools, crd)
			}
			g5 := &costing.Offer{Cloud: "aws", Region: "us-east-1", InstanceType: "g5.xlarge"}
			eventually := func(o *costing.Offer, want bool) {
				t.Helper()
				for prov.Provisionable(o, costing.OnDemand) != want {
					select {
					case <-ctx.Done():
						t.Fatalf("%s never became provisionable=%v", o.InstanceType, want)
					case <-time.After(5 * time.Millisecond):
					}
				}
			}
			eventually(p5, true)
			eventually(g6, false) // not Ready
			eventually(g5, crd)   // only through the pool
			if _, err := client.CoreV1().Nodes().Update(ctx, ready("n2", "g6.xlarge", corev1.ConditionTrue), metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(g6, true)
			if err := client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(p5, false)
			if !crd {
				return
			}
			if _, err := dyn.Resource(NodePoolGVR).Create(ctx, nodePoolObject("pool-b", "p5.48xlarge"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(p5, true)
			if err := dyn.Resource(NodePoolGVR).Delete(ctx, "pool-a", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(g5, false)
		})
	}
}

func TestProvisionableMode(t *testing.T) {
	tests := map[string]struct {
		inCluster, holds bool
		want             bool
	}{
		"auto in-cluster":         {inCluster: true, want: true},
		"auto file with nodes":    {holds: true, want: true},
		"auto file without nodes": {want: false},
		"on file without nodes":   {want: true},
		"off in-cluster":          {inCluster: true, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := ParseProvisionableMode(strings.Fields(name)[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Enabled(tc.inCluster, tc.holds); got != tc.want {
				t.Errorf("enabled = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := ParseProvisionableMode("sometimes"); err == nil {
		t.Error("bad mode accepted")
	}
}

// TestFakeNodesAreProvisionable closes the loop between the fake fleet and
// the filter: under every profile, the nodes `qm catalog nodes` makes for an
// offer provide exactly that offer and capacity type (and, in single-cloud
// profiles, only offers of the profile's cloud).
func TestFakeNodesAreProvisionable(t *testing.T) {
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	offers := cat.Offers()[:40]
	for _, name := range workload.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			keys := profile(t, name)
			var data strings.Builder
			for i, o := range offers {
				if i%2 == 1 {
					continue // every other offer has no node
				}
				for _, n := range fakenode.Nodes([]costing.Offer{o}, fakenode.Selector{CapacityTypes: []costing.CapacityType{costing.OnDemand}}, keys) {
					b, err := yaml.Marshal(n)
					if err != nil {
						t.Fatal(err)
					}
					data.WriteString("---\n" + string(b))
				}
			}
			s, err := ReadSnapshot(strings.NewReader(data.String()), nil)
			if err != nil {
				t.Fatal(err)
			}
			prov, _ := s.Provisioner(keys)
			for i := range offers {
				o := &offers[i]
				want := i%2 == 0 && (keys.Cloud != "" || o.Cloud == keys.ClusterCloud)
				if got := prov.Provisionable(o, costing.OnDemand); got != want {
					t.Errorf("%s on-demand: %v, want %v", o.Key(), got, want)
				}
				if prov.Provisionable(o, costing.Spot) {
					t.Errorf("%s spot: provisionable without a spot node", o.Key())
				}
			}
		})
	}
}

// BenchmarkPlaceProvisionable places on a 5,000-offer catalog through the
// provisionable filter (nodes for a third of the offers, three NodePools),
// to compare with placement's BenchmarkPlace5000 without it: the filter
// must add no allocation and little time.
func BenchmarkPlaceProvisionable(b *testing.B) {
	cat, err := costingtest.Catalog(5000, 42)
	if err != nil {
		b.Fatal(err)
	}
	keys := profile(b, "quartermaster")
	var nodes []nodeKey
	for i, o := range cat.Offers() {
		if i%3 == 0 {
			nodes = append(nodes, nodeKey{o.Cloud, o.Region, o.InstanceType, costing.OnDemand})
		}
	}
	prov := newProvisionable(keys, nodes, []NodePool{
		{Name: "a", Requirements: []Requirement{req("quartermaster.io/cloud", "In", "aws"), req("karpenter.sh/capacity-type", "In", "spot")}},
		{Name: "b", Requirements: []Requirement{req("quartermaster.io/cloud", "In", "gcp"), req("topology.kubernetes.io/region", "NotIn", "us-central1")}},
		{Name: "c", Requirements: []Requirement{req("quartermaster.io/cloud", "In", "azure"), req("karpenter.azure.com/sku-gpu-count", "Gt", "2")}},
	})
	p := placement.New(cat, nil)
	for name, w := range map[string]*workload.Workload{
		"h100-gang-4x8":        withCPUMem(benchGang(4, 8, "H100", "H200"), 90000, 900<<10),
		"any-model-1gpu":       withCPUMem(benchGang(1, 1), 4000, 16<<10),
		"interruptible-l4-x16": func() *workload.Workload { w := benchGang(16, 1, "L4"); w.Interruptible = true; return w }(),
	} {
		w.ExpectedDuration = 10 * time.Hour
		b.Run(name, func(b *testing.B) {
			req := &placement.Request{Workload: w, Restrictions: &costing.Restrictions{Jurisdictions: []string{"us", "eu"}}, Provisioner: prov}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Place(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchGang(replicas int32, gpus int64, models ...string) *workload.Workload {
	return &workload.Workload{Kind: "Job", Namespace: "ns", Name: "w", GPUModels: models, PodSets: []workload.PodSet{{
		Name: "template", Replicas: replicas, GPU: workload.GPUDemand{Resource: workload.ResourceNvidiaGPU, Count: gpus},
	}}}
}

func withCPUMem(w *workload.Workload, milli, mib int64) *workload.Workload {
	w.PodSets[0].CPUMilli, w.PodSets[0].MemoryBytes = milli, mib<<20
	return w
}

// TestUsageUnderSingleCloudProfile: with no cloud label, GPUs held count in
// the profile's cloud, for bound pods and for pods pinned by the patch.
func TestUsageUnderSingleCloudProfile(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
		"topology.kubernetes.io/region": "us-east-1", "node.kubernetes.io/instance-type": "p5.48xlarge", "karpenter.sh/capacity-type": "on-demand"}}}
	client := fake.NewClientset(node, gpuPod("bound", "n1", 8, corev1.PodRunning),
		pinnedPod("pinned", 2, "", "us-east-1", "p5.48xlarge")) // the karpenter patch pins no cloud
	inf, err := NewInformers(client, InformerOptions{Debounce: time.Millisecond, Labels: profile(t, "karpenter"),
		ModelOf: func(cloud, it string) string {
			if cloud == "aws" && it == "p5.48xlarge" {
				return "H100"
			}
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inf.Start(ctx)
	if !waitForSync(ctx, inf) {
		t.Fatal("caches did not sync")
	}
	if inf.Provisioner() != nil {
		t.Error("a provisioner without InformerOptions.Provisionable")
	}
	want := quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 10}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })
}

// TestNodePoolDiscoveryRetried: an API server that does not answer
// discovery at first delays readiness instead of failing the start; once it
// answers, NodePools are watched.
func TestNodePoolDiscoveryRetried(t *testing.T) {
	client := fake.NewClientset()
	disc := client.Discovery().(*fakediscovery.FakeDiscovery)
	disc.Resources = []*metav1.APIResourceList{{GroupVersion: "karpenter.sh/v1", APIResources: []metav1.APIResource{{Name: "nodepools", Kind: "NodePool"}}}}
	var failures atomic.Int32
	failures.Store(3)
	disc.PrependReactor("get", "resource", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures.Add(-1) >= 0 {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{NodePoolGVR: "NodePoolList"}, nodePoolObject("pool-a", "g5.xlarge"))
	inf, err := NewInformers(client, InformerOptions{Debounce: time.Millisecond, Labels: profile(t, "karpenter"), Provisionable: true, Dynamic: dyn})
	if err != nil {
		t.Fatalf("a failing discovery failed the start: %v", err)
	}
	if inf.HasSynced() {
		t.Fatal("synced before discovery answered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inf.Start(ctx)
	if !waitForSync(ctx, inf) {
		t.Fatal("caches did not sync")
	}
	if !inf.NodePoolsWatched() || failures.Load() >= 0 {
		t.Fatalf("pools watched %v after %d failures left", inf.NodePoolsWatched(), failures.Load())
	}
	g5 := &costing.Offer{Cloud: "aws", Region: "us-east-1", InstanceType: "g5.xlarge"}
	for !inf.Provisioner().Provisionable(g5, costing.OnDemand) {
		select {
		case <-ctx.Done():
			t.Fatal("the pool never provided its instance type")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
