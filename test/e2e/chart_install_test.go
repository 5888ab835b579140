//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const releaseNamespace = "quartermaster-system"

// webhookConfig is the part of a webhook configuration the test reads.
type webhookConfig struct {
	Webhooks []struct {
		Name         string
		ClientConfig struct {
			URL      string `json:"url"`
			CABundle string `json:"caBundle"`
		} `json:"clientConfig"`
		FailurePolicy   string                              `json:"failurePolicy"`
		MatchConditions []struct{ Name, Expression string } `json:"matchConditions"`
	}
}

// gpuPod is a bare pod asking for one GPU (or none), for admission checks.
func gpuPod(name, ns string, gpus int, labels string) []byte {
	resources := "{}"
	if gpus > 0 {
		resources = fmt.Sprintf("{limits: {nvidia.com/gpu: %d}}", gpus)
	}
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s, labels: {%s}}
spec:
  containers:
    - {name: c, image: example.invalid/c, resources: %s}
`, name, ns, labels, resources))
}

const gpuDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: trainer, namespace: %s}
spec:
  replicas: 0
  selector: {matchLabels: {app: trainer}}
  template:
    metadata: {labels: {app: trainer}}
    spec:
      initContainers:
        - {name: warmup, image: example.invalid/w, resources: {limits: {nvidia.com/mig-1g.10gb: 1}}}
      containers:
        - {name: c, image: example.invalid/c}
`

// TestChartInstall installs the chart with the real helm, its webhooks pointed
// at a URL on the host (externalURL) that nothing serves yet, and checks that
// the API server then applies the chart's configuration as intended:
//   - failurePolicy Ignore: GPU pods are admitted while no webhook answers;
//   - matchConditions and exclusions: only GPU objects outside kube-system,
//     the release namespace and the ignore label reach the webhook (a
//     recording double on the host proves what arrives);
//   - failurePolicy Fail (helm upgrade): GPU pods are rejected while no
//     webhook answers, non-GPU pods still pass;
//   - the in-cluster Deployment runs 2 replicas on different nodes;
//   - helm uninstall removes the webhook configurations.
func TestChartInstall(t *testing.T) {
	chart := filepath.Join(cluster.repo, "charts", "quartermaster")
	port := webhookPort(0)
	cert := newServingCert(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	values := []string{"--set", "webhook.externalURL=" + url, "--set", "webhook.externalCABundle=" + cert.caBundle()}

	helm(t, append([]string{"install", "qm", chart, "-n", releaseNamespace, "--create-namespace", "--wait", "--timeout", "2m",
		"--set", "webhook.failurePolicy=Ignore"}, values...)...).must(t, "helm install")
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			helm(t, "uninstall", "qm", "-n", releaseNamespace, "--wait")
		}
		kubectl(t, "delete", "namespace", releaseNamespace, "--wait=false")
	})

	for _, kind := range []string{"mutatingwebhookconfiguration", "validatingwebhookconfiguration"} {
		var wc webhookConfig
		getJSON(t, &wc, kind, "qm-quartermaster")
		if len(wc.Webhooks) != 1 {
			t.Fatalf("%s has %d webhooks, want 1", kind, len(wc.Webhooks))
		}
		w := wc.Webhooks[0]
		path := map[string]string{"mutatingwebhookconfiguration": "/mutate", "validatingwebhookconfiguration": "/validate"}[kind]
		if w.ClientConfig.URL != url+path || w.ClientConfig.CABundle != cert.caBundle() {
			t.Errorf("%s: url %q caBundle set %v, want %q with the test CA", kind, w.ClientConfig.URL, w.ClientConfig.CABundle != "", url+path)
		}
		if w.FailurePolicy != "Ignore" || len(w.MatchConditions) == 0 {
			t.Errorf("%s: failurePolicy %s, %d matchConditions", kind, w.FailurePolicy, len(w.MatchConditions))
		}
	}

	// The webhook Deployment (KWOK runs its pods) spreads over two nodes.
	var pods struct{ Items []pod }
	getJSON(t, &pods, "pods", "-n", releaseNamespace, "-l", "app.kubernetes.io/component=webhook")
	if len(pods.Items) != 2 || pods.Items[0].Spec.NodeName == pods.Items[1].Spec.NodeName {
		t.Errorf("webhook pods not on two different nodes: %+v", pods.Items)
	}

	namespace(t, "gpu-team")
	// Fail open: nothing listens on the URL yet.
	kubectlIn(t, gpuPod("open", "gpu-team", 1, ""), "create", "-f", "-").must(t, "GPU pod with failurePolicy Ignore and no webhook")

	// What reaches a webhook that answers.
	rec := startRecordingWebhook(t, port, cert)
	kubectlIn(t, gpuPod("gpu", "gpu-team", 2, ""), "create", "-f", "-").must(t, "GPU pod")
	kubectlIn(t, gpuPod("cpu", "gpu-team", 0, ""), "create", "-f", "-").must(t, "non-GPU pod")
	kubectlIn(t, gpuPod("ignored", "gpu-team", 1, "quartermaster.io/ignore: \"true\""), "create", "-f", "-").must(t, "ignored GPU pod")
	kubectlIn(t, gpuPod("system", "kube-system", 1, ""), "create", "-f", "-").must(t, "GPU pod in kube-system")
	t.Cleanup(func() { kubectl(t, "delete", "pod", "system", "-n", "kube-system", "--wait=false") })
	kubectlIn(t, gpuPod("own", releaseNamespace, 1, ""), "create", "-f", "-").must(t, "GPU pod in the release namespace")
	kubectlIn(t, []byte(fmt.Sprintf(gpuDeployment, "gpu-team")), "create", "-f", "-").must(t, "Deployment with a MIG init container")
	// The Deployment's ReplicaSet reaches the webhook too, whenever the
	// controller gets to it; it is left out so that the check does not race.
	got := slices.DeleteFunc(rec.reviews(), func(r review) bool { return r.Kind == "ReplicaSet" })
	want := []review{
		{"/mutate", "Pod", "gpu-team", "gpu"}, {"/validate", "Pod", "gpu-team", "gpu"},
		{"/mutate", "Deployment", "gpu-team", "trainer"}, {"/validate", "Deployment", "gpu-team", "trainer"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("the webhook received\n  %v\nwant\n  %v", got, want)
	}

	// Fail closed: the same release with failurePolicy Fail and the webhook gone.
	rec.stop()
	if r := helm(t, append([]string{"upgrade", "qm", chart, "-n", releaseNamespace, "--wait", "--timeout", "2m",
		"--set", "webhook.failurePolicy=Fail"}, values...)...); r.err != nil {
		t.Log(kubectl(t, "get", "all,pdb,secrets", "-n", releaseNamespace, "-o", "wide").stdout)
		r.must(t, "helm upgrade to failurePolicy Fail")
	}
	eventually(t, 30*time.Second, "a GPU pod is rejected while the webhook is down", func() error {
		r := kubectlIn(t, gpuPod("closed", "gpu-team", 1, ""), "create", "-f", "-")
		if r.err == nil {
			kubectl(t, "delete", "pod", "closed", "-n", "gpu-team", "--wait=false")
			return fmt.Errorf("admitted")
		}
		if !strings.Contains(r.stderr, "failed calling webhook") {
			return fmt.Errorf("rejected for another reason: %s", r.stderr)
		}
		return nil
	})
	kubectlIn(t, gpuPod("cpu2", "gpu-team", 0, ""), "create", "-f", "-").must(t, "non-GPU pod while the webhook is down")

	helm(t, "uninstall", "qm", "-n", releaseNamespace, "--wait").must(t, "helm uninstall")
	uninstalled = true
	for _, kind := range []string{"mutatingwebhookconfiguration", "validatingwebhookconfiguration"} {
		if r := kubectl(t, "get", kind, "qm-quartermaster"); r.err == nil {
			t.Errorf("%s still exists after helm uninstall", kind)
		}
	}
	kubectlIn(t, gpuPod("after", "gpu-team", 1, ""), "create", "-f", "-").must(t, "GPU pod after uninstall")
}
