//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scaledDeployment is an inference Deployment of 1-GPU A10G pods. Its
// rollout replaces a pod before starting the next (maxSurge 0), so that it
// needs no GPU beyond its replicas: the quota, not the fleet, is what the
// test makes tight.
const scaledDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ranker
  namespace: %s
  annotations:
    quartermaster.io/team: search
    quartermaster.io/gpu-models: A10G
    quartermaster.io/expected-duration: 1h
spec:
  replicas: %d
  selector: {matchLabels: {app: ranker}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}
  template:
    metadata: {labels: {app: ranker}}
    spec:
      serviceAccountName: embeddings
      containers:
        - name: server
          image: ghcr.io/example/embeddings:1.9
          resources:
            limits: {nvidia.com/gpu: 1}
`

// TestScalePlacedDeployment walks a placed Deployment through its life
// under a quota its own pods fill: labelled, scaled down and up through
// UPDATEs of the object and through the scale subresource, re-applied
// unchanged, and rolled out to a new image. Every step is admitted; the
// steps that change nothing placement depends on keep the recorded decision
// (the same decision id), the rollout is placed again where it was (its own
// pods do not count against it), and no ReplicaSet reaches the webhook.
func TestScalePlacedDeployment(t *testing.T) {
	const ns, replicas = "wh-update", 2
	dir := t.TempDir()
	manifest := filepath.Join(dir, "deployment.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(scaledDeployment, ns, replicas)), 0o600); err != nil {
		t.Fatal(err)
	}
	catalog := restrictedCatalog(t)
	noQuota, noUsage := filepath.Join(dir, "no-quota.yaml"), filepath.Join(dir, "no-usage.yaml")
	for path, content := range map[string]string{noQuota: "quotas: []\n", noUsage: "usage: []\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := evalPlacement(t, manifest, catalog, noQuota, noUsage)
	offerA := fmt.Sprintf("%s,%s=%s,%s=%s,%s=%s", fakeSelector, cloudLabel, a.Cloud, regionLabel, a.Region, productLabel, a.GPUModel)
	held := settledUsage(t, offerA)
	// Exactly what already runs there plus this Deployment's replicas: once
	// its pods run, the quota is full.
	quota := filepath.Join(dir, "quota.yaml")
	if err := os.WriteFile(quota, []byte(fmt.Sprintf("quotas:\n  - {cloud: %s, region: %s, gpuModel: %s, gpus: %d}\n",
		a.Cloud, a.Region, a.GPUModel, held+replicas)), 0o600); err != nil {
		t.Fatal(err)
	}
	h := installAdmission(t, webhookPort(9), "Fail", catalog, "--quota="+quota)
	namespace(t, ns, "embeddings")
	before := requestCounts(t, h)

	kubectl(t, "apply", "-f", manifest).must(t, "kubectl apply")
	var obj placedObject
	getJSON(t, &obj, "deployment", "ranker", "-n", ns)
	first := decisionOf(t, obj)
	if first.Cloud != a.Cloud || first.Region != a.Region {
		t.Fatalf("placed in %s/%s, want %s/%s", first.Cloud, first.Region, a.Cloud, a.Region)
	}
	nodeSelector := addGangNodes(t, first)
	waitRunningOn(t, ns, "app=ranker", replicas, nodeSelector)
	eventually(t, 2*time.Minute, "the Deployment's pods fill the quota", func() error {
		if got, _ := gpuUsage(t, offerA); got != held+replicas {
			return fmt.Errorf("%d GPUs held, want %d", got, held+replicas)
		}
		return nil
	})

	// decisionID reads the stored Deployment's decision id after a step.
	decisionID := func(step string) decision {
		t.Helper()
		var obj placedObject
		getJSON(t, &obj, "deployment", "ranker", "-n", ns)
		d := decisionOf(t, obj)
		checkAffinity(t, step, obj.Spec["template"].(map[string]any)["spec"], d)
		return d
	}
	steps := []struct {
		name string
		args []string
	}{
		{"label", []string{"label", "deployment", "ranker", "-n", ns, "tier=gold"}},
		{"scale down (UPDATE)", []string{"patch", "deployment", "ranker", "-n", ns, "-p", `{"spec":{"replicas":1}}`}},
		{"scale up (UPDATE)", []string{"patch", "deployment", "ranker", "-n", ns, "-p", `{"spec":{"replicas":2}}`}},
		{"scale down (scale subresource)", []string{"scale", "deployment", "ranker", "-n", ns, "--replicas=1"}},
		{"scale up (scale subresource)", []string{"scale", "deployment", "ranker", "-n", ns, "--replicas=2"}},
		{"re-apply", []string{"apply", "-f", manifest}},
	}
	for _, s := range steps {
		kubectl(t, s.args...).must(t, s.name)
		if d := decisionID(s.name); d.ID != first.ID {
			t.Errorf("%s: decision %s replaced the recorded %s", s.name, d.ID, first.ID)
		}
	}
	waitRunningOn(t, ns, "app=ranker", replicas, nodeSelector)

	// A rollout changes the pod template: placed again, where it was, since
	// its own pods' GPUs are not counted against it.
	kubectl(t, "set", "image", "deployment/ranker", "-n", ns, "server=ghcr.io/example/embeddings:2.0").must(t, "rollout")
	rolled := decisionID("rollout")
	if rolled.ID == first.ID || rolled.Cloud != first.Cloud || rolled.Region != first.Region || rolled.InstanceType != first.InstanceType {
		t.Errorf("rollout: decision %+v, want a new decision at %s/%s %s", rolled, first.Cloud, first.Region, first.InstanceType)
	}
	kubectl(t, "rollout", "status", "deployment/ranker", "-n", ns, "--timeout=2m").must(t, "rollout status")
	// Every pod of the new ReplicaSet runs on the recorded offer's nodes.
	waitRunningOn(t, ns, "app=ranker", replicas, nodeSelector)

	got := diff(before, requestCounts(t, h))
	for key, n := range got {
		if strings.Contains(key, "/ReplicaSet/") || strings.Contains(key, "/Pod/") {
			t.Errorf("%v requests %s: the Deployment's ReplicaSets and pods must not reach the webhook", n, key)
		}
		if !strings.HasSuffix(key, "/allowed") && !strings.HasSuffix(key, "/patched") {
			t.Errorf("%v requests %s: every step of the lifecycle must be admitted", n, key)
		}
	}
	t.Logf("webhook requests during the lifecycle: %v", got)
}
