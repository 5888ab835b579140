//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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

// mutateReview sends one AdmissionReview for a 1×L4 Job straight to the
// webhook's /mutate and returns the response's allowed flag, message and
// decision annotation.
func mutateReview(t *testing.T, h *hostWebhook, uid string) (bool, string, map[string]any) {
	t.Helper()
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + uid + `","kind":{"group":"batch","version":"v1","kind":"Job"},` +
		`"operation":"CREATE","namespace":"default","userInfo":{"username":"e2e"},"object":{"apiVersion":"batch/v1","kind":"Job",` +
		`"metadata":{"name":"l4","namespace":"default","annotations":{"quartermaster.io/gpu-models":"L4","quartermaster.io/team":"research"}},` +
		`"spec":{"template":{"spec":{"serviceAccountName":"trainer","containers":[{"name":"c","image":"ghcr.io/example/train:1",` +
		`"resources":{"limits":{"nvidia.com/gpu":1}}}]}}}}}}`
	resp, err := h.client.Post(h.url+"/mutate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Response struct {
			Allowed bool
			Patch   string
			Status  struct{ Message string }
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	r := out.Response
	if !r.Allowed {
		return false, r.Status.Message, nil
	}
	raw, err := base64.StdEncoding.DecodeString(r.Patch)
	if err != nil {
		t.Fatal(err)
	}
	var ops []struct {
		Path  string
		Value any
	}
	if err := json.Unmarshal(raw, &ops); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if strings.HasSuffix(op.Path, "quartermaster.io~1decision") {
			var d map[string]any
			if err := json.Unmarshal([]byte(op.Value.(string)), &d); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), `"karpenter.sh/capacity-type":"on-demand"`) || strings.Contains(string(raw), "quartermaster.io/cloud") {
				t.Errorf("patch does not follow the karpenter profile: %s", raw)
			}
			return true, "", d
		}
	}
	t.Fatalf("no decision in patch %s", raw)
	return false, "", nil
}

// TestKarpenterProfile: the real webhook on the real API server with the
// karpenter label profile reads a NodePool through its informer and places
// only on the pool's two instance types, naming the cheaper offer it
// skipped; once the pool is gone, nothing the cluster has fits and the
// denial names the provisionable filter. (The cluster's KWOK nodes carry the
// quartermaster profile's capacity label, so under this profile they
// provide nothing: only the pool does.)
func TestKarpenterProfile(t *testing.T) {
	kubectlIn(t, []byte(nodePoolCRD), "apply", "-f", "-").must(t, "installing the NodePool CRD")
	t.Cleanup(func() { kubectl(t, "delete", "crd", "nodepools.karpenter.sh", "--wait=false") })
	kubectl(t, "wait", "--for=condition=Established", "crd/nodepools.karpenter.sh", "--timeout=60s").must(t, "waiting for the CRD")
	kubectlIn(t, []byte(twoTypePool), "apply", "-f", "-").must(t, "creating the NodePool")

	h := startHostWebhook(t, webhookPort(12), "--catalog="+restrictedCatalog(t), "--label-profile=karpenter")
	allowed, msg, d := mutateReview(t, h, "karpenter-1")
	if !allowed {
		t.Fatalf("denied: %s", msg)
	}
	if it := d["instanceType"]; d["cloud"] != "aws" || (it != "g6.12xlarge" && it != "g6.48xlarge") {
		t.Errorf("placed on %v %v %v, want one of the NodePool's two instance types", d["cloud"], d["region"], it)
	}
	for _, a := range d["alternatives"].([]any) {
		if it := a.(map[string]any)["instanceType"]; it != "g6.12xlarge" && it != "g6.48xlarge" {
			t.Errorf("alternative %v is outside the NodePool", it)
		}
	}
	skipped, _ := d["skipped"].(map[string]any)
	if skipped == nil || skipped["pricePerHour"].(float64) >= d["pricePerHour"].(float64) || !strings.Contains(fmt.Sprint(skipped["reason"]), "not provisionable") {
		t.Errorf("skipped = %v, want the cheaper offer and the reason", skipped)
	}

	kubectl(t, "delete", "nodepool", "qm-e2e-l4").must(t, "deleting the NodePool")
	eventually(t, 30*time.Second, "the webhook sees the NodePool gone", func() error {
		allowed, msg, _ := mutateReview(t, h, "karpenter-2")
		if allowed || !strings.Contains(msg, "provisionable filter") {
			return fmt.Errorf("allowed %v, message %q", allowed, msg)
		}
		return nil
	})
}
