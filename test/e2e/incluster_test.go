//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	r := helm(t, "install", inClusterRelease, chart, "-n", inClusterNamespace, "--create-namespace", "--wait", "--timeout", "3m",
		"-f", values, "--set-file", "catalog="+restrictedCatalog(t))
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
	var summary struct {
		Pods []struct {
			PodRef     struct{ Name, Namespace string } `json:"podRef"`
			Containers []struct {
				Name   string `json:"name"`
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
		if sp.PodRef.Name == p.Metadata.Name {
			for _, c := range sp.Containers {
				t.Logf("webhook container working set: %.1f MiB (limit 512 MiB), %d pods in the cluster",
					float64(c.Memory.WorkingSetBytes)/(1<<20), len(listPods(t).Items))
			}
		}
	}
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
