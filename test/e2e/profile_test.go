//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// nodePoolCRD is a minimal stand-in for Karpenter's NodePool CRD
// (karpenter.sh/v1, cluster-scoped): the webhook reads NodePools as
// unstructured objects, so no schema beyond "an object" is needed.
const nodePoolCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: nodepools.karpenter.sh}
spec:
  group: karpenter.sh
  scope: Cluster
  names: {kind: NodePool, listKind: NodePoolList, plural: nodepools, singular: nodepool}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// twoTypePool launches two L4 instance types on demand.
const twoTypePool = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: qm-e2e-l4}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: node.kubernetes.io/instance-type, operator: In, values: [g6.12xlarge, g6.48xlarge]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
`

// karpenterJob is a 1×L4 Job the default policy library admits.
func karpenterJob(name string) []byte {
	return []byte(`apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  namespace: wh-karpenter
  annotations: {quartermaster.io/gpu-models: L4, quartermaster.io/team: research}
spec:
  template:
    spec:
      restartPolicy: Never
      serviceAccountName: trainer
      containers:
        - name: c
          image: ghcr.io/example/train:1
          resources: {limits: {nvidia.com/gpu: 1}}
`)
}

// addKarpenterNode creates the KWOK node Karpenter would launch for a
// decision: labelled under the karpenter profile, named apart from the
// cluster's own fake nodes of the same offer. It returns a selector for it.
func addKarpenterNode(t *testing.T, d map[string]any) string {
	t.Helper()
	out := qm(t, "catalog", "nodes", "--cloud", "aws", "--region", d["region"].(string), "--instance-type", d["instanceType"].(string),
		"--capacity-type", "on-demand", "--label-profile", "karpenter", "-o", "json").must(t, "qm catalog nodes")
	var list struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) == 0 {
		t.Fatalf("qm catalog nodes: %v\n%s", err, out)
	}
	var names []string
	for _, n := range list.Items {
		meta := n["metadata"].(map[string]any)
		name := "kp-" + meta["name"].(string)
		meta["name"] = name
		meta["labels"].(map[string]any)["kubernetes.io/hostname"] = name
		meta["labels"].(map[string]any)["quartermaster.io/e2e"] = "karpenter"
		names = append(names, name)
	}
	raw, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": list.Items})
	kubectlIn(t, raw, "apply", "--validate=false", "-f", "-").must(t, "creating the Karpenter-labelled node")
	t.Cleanup(func() { kubectl(t, append([]string{"delete", "node", "--wait=false"}, names...)...) })
	selector := "quartermaster.io/e2e=karpenter,karpenter.sh/capacity-type=on-demand,node.kubernetes.io/instance-type=" + d["instanceType"].(string)
	kubectl(t, "wait", "--for=condition=Ready", "node", "-l", selector, "--timeout=60s").must(t, "waiting for the node")
	return selector
}

// storedDecision reads the decision annotation of a stored Job in full.
func storedDecision(t *testing.T, name string) (map[string]any, map[string]any) {
	t.Helper()
	var obj placedObject
	getJSON(t, &obj, "job", name, "-n", "wh-karpenter")
	var d map[string]any
	if err := json.Unmarshal([]byte(obj.Metadata.Annotations["quartermaster.io/decision"]), &d); err != nil {
		t.Fatalf("%s: decision annotation: %v", name, err)
	}
	return d, obj.Spec["template"].(map[string]any)["spec"].(map[string]any)
}

// TestKarpenterProfile is the acceptance case on the real control
// plane: the real webhook, registered by the chart, with the karpenter label
// profile, reads a NodePool (through a minimal CRD) with its informer.
// kubectl apply of an L4 Job is placed on one of the pool's two instance
// types, the cheaper offer the cluster cannot provide is named in the
// decision, the patch pins Karpenter's labels and the pod runs on the node
// Karpenter would launch (a KWOK node labelled as such). With the pool gone
// that Ready node still provides its offer; with the node gone too, nothing
// does and the Job is refused naming the provisionable filter. (The cluster's
// own KWOK nodes carry the quartermaster profile's capacity label: under
// this profile they provide nothing.)
func TestKarpenterProfile(t *testing.T) {
	kubectlIn(t, []byte(nodePoolCRD), "apply", "-f", "-").must(t, "installing the NodePool CRD")
	t.Cleanup(func() { kubectl(t, "delete", "crd", "nodepools.karpenter.sh", "--wait=false") })
	kubectl(t, "wait", "--for=condition=Established", "crd/nodepools.karpenter.sh", "--timeout=60s").must(t, "waiting for the CRD")
	kubectlIn(t, []byte(twoTypePool), "apply", "-f", "-").must(t, "creating the NodePool")
	t.Cleanup(func() { kubectl(t, "delete", "nodepool", "qm-e2e-l4", "--ignore-not-found", "--wait=false") })

	installAdmission(t, webhookPort(12), "Fail", restrictedCatalog(t), "--label-profile=karpenter")
	namespace(t, "wh-karpenter", "trainer")
	kubectlIn(t, karpenterJob("kp-l4"), "apply", "-f", "-").must(t, "kubectl apply")
	d, spec := storedDecision(t, "kp-l4")
	t.Logf("decision: %v %v %v %v, skipped %v", d["cloud"], d["region"], d["instanceType"], d["capacityType"], d["skipped"])
	two := map[any]bool{"g6.12xlarge": true, "g6.48xlarge": true}
	if d["cloud"] != "aws" || !two[d["instanceType"]] || d["capacityType"] != "on-demand" {
		t.Fatalf("placed on %v %v %v %v, want one of the NodePool's two instance types on demand", d["cloud"], d["region"], d["instanceType"], d["capacityType"])
	}
	for _, a := range d["alternatives"].([]any) {
		if it := a.(map[string]any)["instanceType"]; !two[it] {
			t.Errorf("alternative %v is outside the NodePool", it)
		}
	}
	skipped, _ := d["skipped"].(map[string]any)
	if skipped == nil || skipped["pricePerHour"].(float64) >= d["pricePerHour"].(float64) || !strings.Contains(fmt.Sprint(skipped["reason"]), "not provisionable") {
		t.Errorf("skipped = %v, want the cheaper offer and the reason", skipped)
	}
	specJSON, _ := json.Marshal(spec)
	if !strings.Contains(string(specJSON), `"karpenter.sh/capacity-type":"on-demand"`) || strings.Contains(string(specJSON), "quartermaster.io/cloud") {
		t.Errorf("pod template does not follow the karpenter profile: %s", specJSON)
	}
	sel := addKarpenterNode(t, d)
	waitRunningOn(t, "wh-karpenter", "batch.kubernetes.io/job-name=kp-l4", 1, sel)

	// Without the pool, the Ready node still provides its own offer.
	kubectl(t, "delete", "nodepool", "qm-e2e-l4").must(t, "deleting the NodePool")
	eventually(t, 30*time.Second, "placement follows the node alone", func() error {
		r := kubectlIn(t, karpenterJob("kp-l4-b"), "create", "--dry-run=server", "-o", "json", "-f", "-")
		if r.err != nil {
			return fmt.Errorf("%v: %s", r.err, r.stderr)
		}
		if !strings.Contains(r.stdout, `\"instanceType\":\"`+d["instanceType"].(string)+`\"`) || !strings.Contains(r.stdout, `\"region\":\"`+d["region"].(string)+`\"`) {
			return fmt.Errorf("not placed on the node's offer: %s", r.stdout)
		}
		return nil
	})
	// Without the node either, nothing provides an L4: refused, naming the filter.
	kubectl(t, "delete", "job", "kp-l4", "-n", "wh-karpenter", "--wait=true").must(t, "deleting the Job")
	kubectl(t, "delete", "node", "-l", "quartermaster.io/e2e=karpenter", "--wait=true").must(t, "deleting the node")
	eventually(t, 30*time.Second, "the Job is refused naming the filter", func() error {
		r := kubectlIn(t, karpenterJob("kp-l4-c"), "create", "--dry-run=server", "-f", "-")
		if r.err == nil || !strings.Contains(r.stderr, "no-feasible-placement") || !strings.Contains(r.stderr, "provisionable filter") {
			return fmt.Errorf("err %v, stderr %s", r.err, r.stderr)
		}
		return nil
	})
}
