//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The chart's webhook in a real pod: the image hack/image builds, imported into the containerd of one real node
// (hack/node-up.sh: Debian's containerd and runc, the real kubelet) beside the KWOK nodes, installed by helm with the
// chart's own TLS, and called by the API server through the chart's Service.

const (
	inClusterRelease   = "qmi"
	inClusterNamespace = "quartermaster-incluster"
	realNode           = "qm-node"
)

// webhookPod is the part of the webhook's pod the test reads.
type webhookPod struct {
	Metadata struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"metadata"`
	Spec struct {
		NodeName          string `json:"nodeName"`
		PriorityClassName string `json:"priorityClassName"`
		Priority          int    `json:"priority"`
	} `json:"spec"`
	Status struct {
		Phase             string                          `json:"phase"`
		Conditions        []struct{ Type, Status string } `json:"conditions"`
		ContainerStatuses []struct {
			Image, ImageID string
			ContainerID    string `json:"containerID"`
			Ready          bool
			RestartCount   int `json:"restartCount"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

// TestInClusterWebhook: the webhook pod becomes Ready on the real node, running exactly the image built, and a GPU
// Job applied with kubectl is placed through it (decision annotation, node affinity) and runs on the KWOK nodes of
// the decided offer.
func TestInClusterWebhook(t *testing.T) {
	b := builtImage(t)
	imageID, err := b.img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	p, metricsPort := installOnRealNode(t, b)
	if c := p.Status.ContainerStatuses[0]; c.ImageID != imageID.String() || c.Image != b.ref {
		t.Errorf("webhook runs %s (%s), want the image built: %s (%s)", c.Image, c.ImageID, b.ref, imageID)
	}
	// Admitted at the chart's priority (the API server resolved the class), and the Go runtime got its memory limit
	// from the downward API: the process's own environment says so.
	if p.Spec.PriorityClassName != "system-cluster-critical" || p.Spec.Priority != 2000000000 {
		t.Errorf("webhook pod priority %q (%d), want system-cluster-critical (2000000000)", p.Spec.PriorityClassName, p.Spec.Priority)
	}
	if environ := containerEnviron(t, p.Status.ContainerStatuses[0].ContainerID); !strings.Contains(environ, "\x00GOMEMLIMIT=536870912\x00") {
		t.Errorf("the webhook process's environment lacks GOMEMLIMIT=536870912 (512Mi): %q", environ)
	}
	// The chart made the serving certificate, and the API server calls the Service, not a URL.
	kubectl(t, "get", "secret", inClusterRelease+"-quartermaster-webhook-tls", "-n", inClusterNamespace).must(t, "the chart's TLS Secret")
	var mwc struct {
		Webhooks []struct {
			ClientConfig struct {
				Service *struct{ Name, Namespace string } `json:"service"`
				URL     string                            `json:"url"`
			} `json:"clientConfig"`
		}
	}
	getJSON(t, &mwc, "mutatingwebhookconfiguration", inClusterRelease+"-quartermaster")
	if len(mwc.Webhooks) != 1 || mwc.Webhooks[0].ClientConfig.Service == nil || mwc.Webhooks[0].ClientConfig.URL != "" {
		t.Fatalf("the mutating webhook does not call the chart's Service: %+v", mwc.Webhooks)
	}
	inPod := &hostWebhook{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	before := requestCounts(t, inPod)

	// A GPU Job, as a user applies it, is placed by the webhook in the pod and runs where it decided.
	ns := "ic-vision"
	namespace(t, ns, "trainer")
	job := keepRunning(t, fmt.Sprintf(`{"apiVersion": "batch/v1", "kind": "Job",
 "metadata": {"name": "train", "namespace": %q, "annotations": {"quartermaster.io/team": "vision", "quartermaster.io/expected-duration": "2h"}},
 "spec": {"completions": 1, "template": {"spec": {"restartPolicy": "Never", "serviceAccountName": "trainer",
  "containers": [{"name": "c", "image": "nvcr.io/nvidia/pytorch:24.01-py3", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}`, ns))
	out := kubectlIn(t, job, "apply", "-f", "-").must(t, "kubectl apply of a GPU Job")
	if !strings.Contains(out, "created") {
		t.Errorf("kubectl apply printed %q", out)
	}
	var obj placedObject
	getJSON(t, &obj, "job", "train", "-n", ns)
	d := decisionOf(t, obj)
	t.Logf("in-cluster webhook decision: %d × %s %s/%s %s (%s)", d.Nodes, d.InstanceType, d.Cloud, d.Region, d.GPUModel, d.CapacityType)
	checkAffinity(t, "job", obj.Spec["template"].(map[string]any)["spec"], d)
	waitRunningOn(t, ns, "batch.kubernetes.io/job-name=train", 1, addGangNodes(t, d))

	// The pod's own counters moved: the decision was the pod's.
	moved := diff(before, requestCounts(t, inPod))
	if moved["mutate/Job/patched"] != 1 || moved["validate/Job/allowed"] != 1 {
		t.Errorf("the webhook pod's request counters moved by %v, want one patched mutate and one allowed validate of a Job", moved)
	}

	// The decision, in the pod's hash-chained decision log on its emptyDir, which qm log verify accepts.
	logFile := filepath.Join(cluster.clusterDir, "node", "kubelet", "pods", p.Metadata.UID, "volumes", "kubernetes.io~empty-dir",
		"decision-log", "decisions-"+p.Metadata.Name+".log")
	eventually(t, 30*time.Second, "the Job's decision in the decision log", func() error {
		data, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), `"object":"Job ic-vision/train"`) {
			return fmt.Errorf("%d bytes, no line for Job ic-vision/train", len(data))
		}
		return nil
	})
	verify := qm(t, "log", "verify", logFile).must(t, "qm log verify of the pod's decision log")
	t.Logf("qm log verify: %s", strings.TrimSpace(verify))

	// Memory, as the kubelet measures it (working set), against the chart's limit.
	t.Logf("webhook container working set: %.1f MiB (limit 512 MiB), %d pods in the cluster",
		float64(workingSet(t, p.Metadata.Name))/(1<<20), len(listPods(t).Items))
}

// installOnRealNode starts the real node with the built image and installs the chart there (one replica, host
// network), waits for its pod to be Ready on that node, and removes both when the test ends. It returns the pod and
// its metrics port on the host. extra are more helm arguments (values).
func installOnRealNode(t testing.TB, b built, extra ...string) (webhookPod, int) {
	t.Helper()
	start := time.Now()
	if out, err := script("node-up.sh", filepath.Join(b.dir, "image.tar")); err != nil {
		t.Fatalf("hack/node-up.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := script("node-down.sh"); err != nil {
			t.Errorf("hack/node-down.sh: %v\n%s", err, out)
		}
	})
	t.Logf("real node %s Ready %s after node-up.sh began", realNode, time.Since(start).Round(100*time.Millisecond))

	// The API server listens on 127.0.0.1 and no kube-proxy routes the kubernetes Service: the webhook shares the
	// node's network and is told where the API server is. Its ports are the node's, so they come from the suite's range.
	port, metricsPort, healthPort := webhookPort(20), webhookPort(21), webhookPort(22)
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(fmt.Sprintf(`webhook:
  replicas: 1
  hostNetwork: true
  port: %d
  metricsPort: %d
  healthPort: %d
  nodeSelector: {kubernetes.io/hostname: %s}
  tolerations: [{key: quartermaster.io/real-node, operator: Exists, effect: NoSchedule}]
  extraEnv:
    - {name: KUBERNETES_SERVICE_HOST, value: "127.0.0.1"}
    - {name: KUBERNETES_SERVICE_PORT, value: "%d"}
`, port, metricsPort, healthPort, realNode, cluster.portBase)), 0o600); err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(cluster.repo, "charts", "quartermaster")
	start = time.Now()
	r := helm(t, append([]string{"install", inClusterRelease, chart, "-n", inClusterNamespace, "--create-namespace", "--wait", "--timeout", "3m",
		"-f", values, "--set-file", "catalog=" + restrictedCatalog(t)}, extra...)...)
	t.Cleanup(func() {
		helm(t, "uninstall", inClusterRelease, "-n", inClusterNamespace, "--wait", "--timeout", "2m")
		kubectl(t, "delete", "namespace", inClusterNamespace, "--timeout=90s")
	})
	if r.err != nil {
		logs := kubectl(t, "logs", "-n", inClusterNamespace, "-l", "app.kubernetes.io/component=webhook", "--tail=40")
		events := kubectl(t, "get", "events", "-n", inClusterNamespace)
		t.Fatalf("helm install: %v\n%s\nwebhook log:\n%s%s\nevents:\n%s", r.err, r.stderr, logs.stdout, logs.stderr, events.stdout)
	}
	t.Logf("helm install --wait: %s", time.Since(start).Round(100*time.Millisecond))

	var pods struct{ Items []webhookPod }
	getJSON(t, &pods, "pods", "-n", inClusterNamespace, "-l", "app.kubernetes.io/component=webhook")
	if len(pods.Items) != 1 {
		t.Fatalf("%d webhook pods, want 1", len(pods.Items))
	}
	p := pods.Items[0]
	if p.Spec.NodeName != realNode || p.Status.Phase != "Running" || len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready {
		t.Fatalf("webhook pod %s: node %q phase %s containers %+v, want Ready on %s", p.Metadata.Name, p.Spec.NodeName,
			p.Status.Phase, p.Status.ContainerStatuses, realNode)
	}
	return p, metricsPort
}

// containerEnviron is /proc/PID/environ of a container's process on the real node, found through its containerd.
func containerEnviron(t testing.TB, containerID string) string {
	t.Helper()
	id := strings.TrimPrefix(containerID, "containerd://")
	out, err := exec.Command("ctr", "--address", filepath.Join(cluster.clusterDir, "node", "containerd", "containerd.sock"),
		"--namespace", "k8s.io", "tasks", "ls").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr tasks ls: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			environ, err := os.ReadFile(filepath.Join("/proc", f[1], "environ"))
			if err != nil {
				t.Fatal(err)
			}
			return "\x00" + string(bytes.TrimRight(environ, "\x00")) + "\x00"
		}
	}
	t.Fatalf("container %s not among containerd's tasks:\n%s", id, out)
	return ""
}

// workingSet is a container's working set in bytes as the real node's kubelet measures it (its stats summary).
func workingSet(t testing.TB, podName string) uint64 {
	t.Helper()
	var summary struct {
		Pods []struct {
			PodRef     struct{ Name string } `json:"podRef"`
			Containers []struct {
				Memory struct {
					WorkingSetBytes uint64 `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	raw := kubectl(t, "get", "--raw", "/api/v1/nodes/"+realNode+"/proxy/stats/summary").must(t, "the kubelet's stats summary")
	if err := json.Unmarshal([]byte(raw), &summary); err != nil {
		t.Fatal(err)
	}
	for _, sp := range summary.Pods {
		if sp.PodRef.Name == podName && len(sp.Containers) == 1 {
			return sp.Containers[0].Memory.WorkingSetBytes
		}
	}
	t.Fatalf("pod %s not in the kubelet's stats summary", podName)
	return 0
}

// BenchmarkInClusterMemoryAtScale measures the webhook pod's memory with its informers holding QM_E2E_SCALE=PODS/NODES
// (default 10000/1000) pods and nodes, against the chart's 512 MiB limit (make bench-memory). It is a measurement,
// minutes long, so a benchmark run on demand, not a test of every run. The extra nodes are plain Node objects that nothing heartbeats, labelled like the
// fleet's; the pods are non-GPU pods held by a scheduling gate, so that neither the scheduler nor KWOK works on them:
// the informers cache them all the same, and none reaches the webhook (matchConditions).
func BenchmarkInClusterMemoryAtScale(b *testing.B) {
	t := b
	wantPods, wantNodes := 10000, 1000
	if scale := os.Getenv("QM_E2E_SCALE"); scale != "" {
		if _, err := fmt.Sscanf(scale, "%d/%d", &wantPods, &wantNodes); err != nil {
			b.Fatalf("QM_E2E_SCALE=%q: want PODS/NODES, e.g. 10000/1000", scale)
		}
	}
	p, metricsPort := installOnRealNode(t, builtImage(t))
	inPod := &hostWebhook{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	sample := func(what string) uint64 {
		fam := metricFamilies(t, inPod.metrics(t))
		gauge := func(name string) float64 {
			if m := fam[name].GetMetric(); len(m) > 0 {
				return m[0].GetGauge().GetValue()
			}
			return 0
		}
		ws := workingSet(t, p.Metadata.Name)
		t.Logf("%s: working set %.1f MiB, RSS %.1f MiB, heap in use %.1f MiB, %d pods and %d nodes in the cluster", what,
			float64(ws)/(1<<20), gauge("process_resident_memory_bytes")/(1<<20), gauge("go_memstats_heap_inuse_bytes")/(1<<20),
			len(listPods(t).Items), len(nodes(t, "")))
		return ws
	}
	sample("idle")

	cs := clientset(t)
	ctx := context.Background()
	parallel := func(n int, create func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		next := make(chan int)
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := create(i); err != nil {
						errs <- err
					}
				}
			}()
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	start := time.Now()
	extra := wantNodes - len(nodes(t, ""))
	t.Cleanup(func() { kubectl(t, "delete", "nodes", "-l", "e2e.quartermaster.io/scale=true", "--wait=false") })
	parallel(max(extra, 0), func(i int) error {
		_, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("scale-%04d", i),
			Labels: map[string]string{"e2e.quartermaster.io/scale": "true", cloudLabel: "aws", regionLabel: "us-east-1",
				instanceLabel: "p4d.24xlarge", capacityLabel: "on-demand", productLabel: "A100-SXM4-40GB"},
		}}, metav1.CreateOptions{})
		return err
	})
	ns := "ic-scale"
	namespace(t, ns)
	t.Cleanup(func() {
		_ = cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	parallel(wantPods, func(i int) error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Namespace: ns,
				Labels: map[string]string{"app": fmt.Sprintf("app-%d", i%100), "e2e.quartermaster.io/scale": "true"}},
			Spec: corev1.PodSpec{
				SchedulingGates: []corev1.PodSchedulingGate{{Name: "e2e.quartermaster.io/hold"}},
				Containers: []corev1.Container{{Name: "c", Image: "registry.internal.example.com/app:1",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}},
			},
		}
		_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		return err
	})
	t.Logf("created %d nodes and %d pods in %s", max(extra, 0), wantPods, time.Since(start).Round(time.Second))
	// The informers' watches deliver within seconds; sample a few times and keep the largest.
	var peak uint64
	for i := range 4 {
		time.Sleep(15 * time.Second)
		peak = max(peak, sample(fmt.Sprintf("at scale, sample %d", i+1)))
	}
	b.ReportMetric(float64(peak)/(1<<20), "working-set-MiB")
	if peak > 512<<20 {
		t.Errorf("working set %.1f MiB above the chart's 512 MiB limit", float64(peak)/(1<<20))
	}
}
