//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file sorts last, so TestControlPlaneColdRestart runs after every
// other test; it leaves the cluster running and usable all the same.

// componentHealthz asks a control plane component's secure port for
// /healthz (always allowed without credentials; self-signed serving cert).
func componentHealthz(port int) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return nil
}

// TestControlPlaneColdRestart stops the whole control plane (kwok,
// controller-manager, scheduler, kube-apiserver, etcd; etcd data kept) while
// the webhook is down too and its configurations are still registered with
// failurePolicy Fail, then starts it again (hack/cluster-up.sh --restart).
// The cluster must come back without the webhook: readyz ok, non-GPU and
// kube-system creates admitted (they never reach the webhook), the scheduler
// and controller-manager healthy and working, GPU pods still fail closed;
// once the webhook is started, GPU pods are placed and run where decided.
func TestControlPlaneColdRestart(t *testing.T) {
	const ns = "wh-restart"
	h := startAdmission(t, webhookPort(8))
	namespace(t, ns, "embeddings")
	kubectl(t, "create", "serviceaccount", "embeddings", "-n", "kube-system").must(t, "service account in kube-system")
	t.Cleanup(func() { kubectl(t, "delete", "serviceaccount", "embeddings", "-n", "kube-system") })
	ctx := context.Background()
	// An L40S pod: an offer no other test uses, so its node is free.
	l40s := func(name string) *corev1.Pod {
		p := benchPod(name, true, map[string]string{"app": name})
		p.Annotations["quartermaster.io/gpu-models"] = "L40S"
		return p
	}

	cs := clientset(t)
	before, err := cs.CoreV1().Pods(ns).Create(ctx, l40s("before"), metav1.CreateOptions{})
	if err != nil || before.Annotations["quartermaster.io/decision"] == "" {
		t.Fatalf("GPU pod with the webhook up: err %v, annotations %v", err, before.GetAnnotations())
	}
	// Its node is the one the pod after the restart will need.
	zero := int64(0)
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "before", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}

	// Everything down: the webhook, then the control plane.
	h.stop()
	start := time.Now()
	if out, err := script("cluster-down.sh", "--keep-data"); err != nil {
		t.Fatalf("cluster-down.sh --keep-data: %v\n%s", err, out)
	}
	stopped := time.Since(start)
	if r := kubectl(t, "get", "--raw", "/readyz"); r.err == nil {
		t.Fatalf("the API server still answers after cluster-down.sh --keep-data: %s", r.stdout)
	}

	start = time.Now()
	if out, err := script("cluster-up.sh", "--restart"); err != nil {
		t.Fatalf("cluster-up.sh --restart: %v\n%s", err, out)
	}
	restarted := time.Since(start)
	if out := kubectl(t, "get", "--raw", "/readyz").must(t, "readyz after the restart"); strings.TrimSpace(out) != "ok" {
		t.Errorf("readyz after the restart: %q", out)
	}

	// Creates that never reach the webhook are admitted although it is down
	// and registered with failurePolicy Fail.
	cs = clientset(t) // fresh connections to the new API server
	var firstCreate time.Duration
	for i := 0; ; i++ {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, benchPod(fmt.Sprintf("cpu-%d", i), false, nil), metav1.CreateOptions{})
		if err == nil {
			firstCreate = time.Since(start)
			break
		}
		if time.Since(start) > restarted+30*time.Second {
			t.Fatalf("non-GPU pods still rejected 30 s after the control plane is ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range []struct {
		ns   string
		name string
		gpu  bool
	}{{ns, "cpu", false}, {"kube-system", "restart-cpu", false}, {"kube-system", "restart-gpu", true}} {
		if _, err := cs.CoreV1().Pods(c.ns).Create(ctx, benchPod(c.name, c.gpu, nil), metav1.CreateOptions{}); err != nil {
			t.Errorf("creating %s/%s (GPU %v) with the webhook down: %v", c.ns, c.name, c.gpu, err)
		}
		if c.ns == "kube-system" {
			t.Cleanup(func() { cs.CoreV1().Pods(c.ns).Delete(ctx, c.name, metav1.DeleteOptions{}) })
		}
	}
	// GPU pods still fail closed: the registration survived the restart.
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, l40s("closed"), metav1.CreateOptions{}); err == nil {
		t.Errorf("GPU pod admitted after the restart with the webhook down (failurePolicy Fail)")
	} else if !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("GPU pod rejected for another reason: %v", err)
	}

	// The scheduler and controller-manager: healthy, and doing their work (a
	// Deployment's ReplicaSet and pods, bound to nodes and Running).
	for name, port := range map[string]int{"kube-scheduler": cluster.portBase + 4, "kube-controller-manager": cluster.portBase + 5} {
		eventually(t, 30*time.Second, name+" /healthz", func() error { return componentHealthz(port) })
	}
	kubectl(t, "create", "deployment", "web", "-n", ns, "--image=ghcr.io/example/web:1", "--replicas=2").must(t, "non-GPU Deployment")
	waitRunningOn(t, ns, "app=web", 2, fakeSelector)
	for name, n := range nodes(t, fakeSelector) {
		if !n.ready() {
			t.Errorf("node %s is not Ready after the restart", name)
		}
	}

	// The webhook again: ready, and GPU pods are placed and run where decided.
	start = time.Now()
	h.start(t)
	eventually(t, 30*time.Second, "the webhook answers /readyz after the control plane restart", h.ready)
	webhookReady := time.Since(start)
	var placed time.Duration
	eventually(t, 30*time.Second, "a GPU pod is placed", func() error {
		p, err := cs.CoreV1().Pods(ns).Create(ctx, l40s("after"), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		placed = time.Since(start)
		if p.Annotations["quartermaster.io/decision"] == "" {
			t.Fatalf("GPU pod admitted without a decision: %v", p.Annotations)
		}
		return nil
	})
	var stored struct {
		Metadata objectMeta
		Spec     map[string]any
	}
	getJSON(t, &stored, "pod", "after", "-n", ns)
	d := decisionOf(t, placedObject{Metadata: stored.Metadata, Spec: stored.Spec})
	if d.GPUModel != "L40S" {
		t.Errorf("placed on %s, want L40S", d.GPUModel)
	}
	waitRunningOn(t, ns, "app=after", 1, addGangNodes(t, d))

	b, _ := json.Marshal(map[string]string{"cloud": d.Cloud, "region": d.Region, "instanceType": d.InstanceType})
	t.Logf("cold restart: control plane stopped in %s; cluster-up.sh --restart took %s; first non-GPU pod admitted %s after the restart began; "+
		"webhook ready %s after its start, first GPU pod placed %s after its start (%s)",
		stopped.Round(100*time.Millisecond), restarted.Round(100*time.Millisecond), firstCreate.Round(100*time.Millisecond),
		webhookReady.Round(time.Millisecond), placed.Round(time.Millisecond), b)
}
