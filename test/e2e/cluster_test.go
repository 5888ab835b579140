//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Label keys of contract 4.2 (workload.DefaultLabelKeys) as the nodes carry them.
const (
	cloudLabel    = "quartermaster.io/cloud"
	regionLabel   = "topology.kubernetes.io/region"
	instanceLabel = "node.kubernetes.io/instance-type"
	capacityLabel = "quartermaster.io/capacity-type"
	productLabel  = "nvidia.com/gpu.product"
	spotTaint     = "quartermaster.io/spot"
	fakeSelector  = "app.kubernetes.io/managed-by=quartermaster-fakenode"
)

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type node struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Taints []struct{ Key, Effect string } `json:"taints"`
	} `json:"spec"`
	Status struct {
		Allocatable map[string]string               `json:"allocatable"`
		Conditions  []struct{ Type, Status string } `json:"conditions"`
	} `json:"status"`
}

func (n *node) ready() bool {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

type pod struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		NodeName    string                                   `json:"nodeName"`
		Tolerations []struct{ Key, Operator, Effect string } `json:"tolerations"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

func nodes(t testing.TB, selector string) map[string]node {
	t.Helper()
	var list struct{ Items []node }
	getJSON(t, &list, "nodes", "-l", selector)
	out := map[string]node{}
	for _, n := range list.Items {
		out[n.Metadata.Name] = n
	}
	return out
}

// TestFakeNodes checks the fleet against the catalog it was generated from:
// the same nodes as `qm catalog nodes` prints, all Ready, in three clouds.
func TestFakeNodes(t *testing.T) {
	var want struct{ Items []node }
	out := qm(t, "catalog", "nodes", "--region", strings.Join(nodeRegions, ","), "-o", "json").must(t, "qm catalog nodes")
	if err := json.Unmarshal([]byte(out), &want); err != nil {
		t.Fatal(err)
	}
	got := nodes(t, fakeSelector)
	if len(got) != len(want.Items) {
		t.Errorf("cluster has %d fake nodes, the catalog %d", len(got), len(want.Items))
	}
	clouds := map[string]map[string]bool{}
	for _, w := range want.Items {
		n, ok := got[w.Metadata.Name]
		if !ok {
			t.Errorf("node %s from the catalog is missing", w.Metadata.Name)
			continue
		}
		if !n.ready() {
			t.Errorf("node %s is not Ready", n.Metadata.Name)
		}
		for _, key := range []string{cloudLabel, regionLabel, instanceLabel, capacityLabel, productLabel} {
			if n.Metadata.Labels[key] != w.Metadata.Labels[key] || n.Metadata.Labels[key] == "" {
				t.Errorf("node %s: label %s = %q, want %q", n.Metadata.Name, key, n.Metadata.Labels[key], w.Metadata.Labels[key])
			}
		}
		if n.Status.Allocatable["nvidia.com/gpu"] != w.Status.Allocatable["nvidia.com/gpu"] {
			t.Errorf("node %s: allocatable GPUs %q, want %q", n.Metadata.Name, n.Status.Allocatable["nvidia.com/gpu"], w.Status.Allocatable["nvidia.com/gpu"])
		}
		spot := n.Metadata.Labels[capacityLabel] == "spot"
		tainted := slices.ContainsFunc(n.Spec.Taints, func(x struct{ Key, Effect string }) bool {
			return x.Key == spotTaint && x.Effect == "NoSchedule"
		})
		if spot != tainted {
			t.Errorf("node %s: capacity type %s but spot taint %v", n.Metadata.Name, n.Metadata.Labels[capacityLabel], tainted)
		}
		cloud := n.Metadata.Labels[cloudLabel]
		if clouds[cloud] == nil {
			clouds[cloud] = map[string]bool{}
		}
		clouds[cloud][n.Metadata.Labels[regionLabel]] = true
	}
	for _, c := range []string{"aws", "azure", "gcp"} {
		if len(clouds[c]) < 2 {
			t.Errorf("cloud %s has nodes in %d regions, want several", c, len(clouds[c]))
		}
	}
	t.Logf("%d fake GPU nodes: %v", len(got), clouds)
}

// outcome is the part of `qm eval -o json` the tests read.
type outcome struct {
	Allowed   bool `json:"allowed"`
	Placement *struct {
		Cloud        string `json:"cloud"`
		Region       string `json:"region"`
		InstanceType string `json:"instanceType"`
		GPUModel     string `json:"gpuModel"`
		Nodes        int    `json:"nodes"`
		CapacityType string `json:"capacityType"`
	} `json:"placement"`
	Patch json.RawMessage `json:"patch"`
}

// TestPlacementSchedules takes example GPU workloads through the admission
// decision (qm eval, exactly what the webhook decides), applies the JSON patch
// with the real kubectl, and checks that the real scheduler puts every pod on
// a KWOK node of the chosen cloud, region, instance type and capacity type,
// and that the pods become Running. Once cmd/webhook exists, the same checks
// run with the webhook doing the patching (see webhook_test.go).
func TestPlacementSchedules(t *testing.T) {
	tests := map[string]struct {
		file           string
		namespace      string
		serviceAccount string
		selector       string // of the workload's pods
		pods           int
		capacity       string
	}{
		"inference Deployment on demand": {
			file: "03-inference-deployment-l4.yaml", namespace: "search", serviceAccount: "embeddings",
			selector: "app=embeddings-api", pods: 6, capacity: "on-demand",
		},
		"interruptible Job on spot": {
			file: "06-spot-training-job.yaml", namespace: "vision", serviceAccount: "trainer",
			selector: "batch.kubernetes.io/job-name=vision-resnet-sweep", pods: 2, capacity: "spot",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(cluster.repo, "examples", "workloads", tc.file)
			out := qm(t, "eval", "-f", file, "-o", "json", "--restrict", "region="+strings.Join(nodeRegions, ","))
			var outcomes []outcome
			if err := json.Unmarshal([]byte(out.must(t, "qm eval")), &outcomes); err != nil || len(outcomes) != 1 {
				t.Fatalf("qm eval printed %d outcomes (%v):\n%s", len(outcomes), err, out.stdout)
			}
			o := outcomes[0]
			if !o.Allowed || o.Placement == nil {
				t.Fatalf("workload not allowed or not placed: %s", out.stdout)
			}
			p := o.Placement
			if p.CapacityType != tc.capacity {
				t.Fatalf("placed on %s capacity, want %s", p.CapacityType, tc.capacity)
			}
			t.Logf("decision: %d × %s %s/%s %s (%s)", p.Nodes, p.InstanceType, p.Cloud, p.Region, p.GPUModel, p.CapacityType)

			// The gang needs p.Nodes nodes of that offer: the fleet has one per
			// offer, so add the rest from the catalog, exactly as the fleet was made.
			nodesYAML := qm(t, "catalog", "nodes", "--cloud", p.Cloud, "--region", p.Region, "--instance-type", p.InstanceType,
				"--model", p.GPUModel, "--capacity-type", p.CapacityType, "--count", strconv.Itoa(max(p.Nodes, 1))).must(t, "qm catalog nodes")
			offerSelector := fmt.Sprintf("%s,%s=%s,%s=%s,%s=%s,%s=%s", fakeSelector, cloudLabel, p.Cloud, regionLabel, p.Region,
				instanceLabel, p.InstanceType, capacityLabel, p.CapacityType)
			before := nodes(t, offerSelector)
			kubectlIn(t, []byte(nodesYAML), "apply", "-f", "-").must(t, "applying the gang's nodes")
			t.Cleanup(func() {
				for name := range nodes(t, offerSelector) {
					if _, ok := before[name]; !ok {
						kubectl(t, "delete", "node", name, "--wait=false")
					}
				}
			})
			kubectl(t, "wait", "--for=condition=Ready", "node", "-l", offerSelector, "--timeout=60s").must(t, "waiting for the gang's nodes")

			namespace(t, tc.namespace, tc.serviceAccount)
			patched := kubectl(t, "patch", "--local", "-f", file, "--type=json", "-p", string(o.Patch), "-o", "json").must(t, "kubectl patch --local")
			kubectlIn(t, keepRunning(t, patched), "create", "-f", "-").must(t, "creating the patched workload")

			var created struct{ Metadata objectMeta }
			getJSON(t, &created, "-f", file)
			if created.Metadata.Annotations["quartermaster.io/decision"] == "" {
				t.Errorf("the created object has no decision annotation")
			}

			eventually(t, 2*time.Minute, "all pods Running on the chosen nodes", func() error {
				var list struct{ Items []pod }
				getJSON(t, &list, "pods", "-n", tc.namespace, "-l", tc.selector)
				if len(list.Items) != tc.pods {
					return fmt.Errorf("%d pods, want %d", len(list.Items), tc.pods)
				}
				for _, pd := range list.Items {
					if pd.Status.Phase != "Running" || pd.Spec.NodeName == "" {
						return fmt.Errorf("pod %s is %s on node %q", pd.Metadata.Name, pd.Status.Phase, pd.Spec.NodeName)
					}
				}
				return nil
			})

			var list struct{ Items []pod }
			getJSON(t, &list, "pods", "-n", tc.namespace, "-l", tc.selector)
			fleet := nodes(t, offerSelector)
			for _, pd := range list.Items {
				if _, ok := fleet[pd.Spec.NodeName]; !ok {
					t.Errorf("pod %s runs on %s, not on a %s %s/%s %s node", pd.Metadata.Name, pd.Spec.NodeName,
						p.InstanceType, p.Cloud, p.Region, p.CapacityType)
				}
				tolerates := slices.ContainsFunc(pd.Spec.Tolerations, func(x struct{ Key, Operator, Effect string }) bool {
					return x.Key == spotTaint
				})
				if tolerates != (tc.capacity == "spot") {
					t.Errorf("pod %s: spot toleration %v, capacity %s", pd.Metadata.Name, tolerates, tc.capacity)
				}
			}
		})
	}
}

// TestUnplaceableStaysPending is the counter-check: the same scheduler keeps
// a pod Pending when no node carries the pinned labels, so a Running pod above
// really proves the pinning matched a node.
func TestUnplaceableStaysPending(t *testing.T) {
	namespace(t, "nowhere")
	manifest := `apiVersion: v1
kind: Pod
metadata: {name: pinned-nowhere, namespace: nowhere}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: topology.kubernetes.io/region, operator: In, values: [antarctica-1]}
  containers:
    - name: c
      image: example.invalid/c
      resources: {limits: {nvidia.com/gpu: 1}}
`
	kubectlIn(t, []byte(manifest), "create", "-f", "-").must(t, "creating the pod")
	eventually(t, time.Minute, "the scheduler reports the pod unschedulable", func() error {
		var p struct {
			Status struct {
				Phase      string
				Conditions []struct{ Type, Status, Reason string }
			}
		}
		getJSON(t, &p, "pod", "pinned-nowhere", "-n", "nowhere")
		for _, c := range p.Status.Conditions {
			if c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable" {
				if p.Status.Phase != "Pending" {
					return fmt.Errorf("phase %s", p.Status.Phase)
				}
				return nil
			}
		}
		return fmt.Errorf("conditions %v", p.Status.Conditions)
	})
}

// keepRunning annotates the pod template of a workload so that KWOK keeps its
// pods Running instead of completing Job pods after a few seconds (KWOK's
// pod-complete stage reads these annotations; the jitter must be set too, as
// KWOK takes the smaller of the two).
func keepRunning(t testing.TB, manifest string) []byte {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatal(err)
	}
	tmpl, ok := obj["spec"].(map[string]any)["template"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no pod template", obj["kind"])
	}
	meta, _ := tmpl["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		tmpl["metadata"] = meta
	}
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann["pod-complete.stage.kwok.x-k8s.io/delay"] = "1h"
	ann["pod-complete.stage.kwok.x-k8s.io/jitter-delay"] = "1h"
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
