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
//     the release namespace and exempt namespaces reach the webhook, not the
//     ReplicaSets of Deployments nor pods of known controllers, while an
//     object's own ignore label and a made-up controller exempt nothing (a
//     recording double on the host proves what arrives);
//   - only exemption admins may label a namespace exempt (the chart's
//     ValidatingAdmissionPolicy);
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

	// The auditor is on by default: its CronJob, accounts and role are installed (TestAuditorJob runs it), and
	// nothing runs before its schedule.
	for _, obj := range []string{"cronjob/qm-quartermaster-auditor", "configmap/qm-quartermaster-auditor-accounts", "serviceaccount/qm-quartermaster-auditor"} {
		kubectl(t, "get", "-n", releaseNamespace, obj).must(t, "the default install's "+obj)
	}
	kubectl(t, "get", "clusterrole", "qm-quartermaster-auditor").must(t, "the auditor's ClusterRole")
	if jobs := strings.TrimSpace(kubectl(t, "get", "jobs", "-n", releaseNamespace, "-o", "name").must(t, "the release's Jobs")); jobs != "" {
		t.Errorf("Jobs in the release namespace right after install: %s", jobs)
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
	// An object cannot exempt itself: the old object label is just a label.
	kubectlIn(t, gpuPod("self-exempt", "gpu-team", 1, "quartermaster.io/ignore: \"true\""), "create", "-f", "-").must(t, "self-labelled GPU pod")
	// A namespace the admin exempted is left out.
	exemptNamespace(t, "gpu-exempt")
	kubectlIn(t, gpuPod("exempt", "gpu-exempt", 1, ""), "create", "-f", "-").must(t, "GPU pod in an exempt namespace")
	kubectlIn(t, gpuPod("system", "kube-system", 1, ""), "create", "-f", "-").must(t, "GPU pod in kube-system")
	t.Cleanup(func() { kubectl(t, "delete", "pod", "system", "-n", "kube-system", "--wait=false") })
	kubectlIn(t, gpuPod("own", releaseNamespace, 1, ""), "create", "-f", "-").must(t, "GPU pod in the release namespace")
	// A bare GPU pod claiming a controller of an unknown kind is judged;
	// one made by a known controller is not (its template was placed).
	kubectlIn(t, ownedGPUPod("forged", "gpu-team", "example.com/v1", "Anything"), "create", "-f", "-").must(t, "GPU pod with a made-up controller")
	kubectlIn(t, ownedGPUPod("from-statefulset", "gpu-team", "apps/v1", "StatefulSet"), "create", "-f", "-").must(t, "GPU pod of a StatefulSet")
	kubectlIn(t, []byte(fmt.Sprintf(gpuDeployment, "gpu-team")), "create", "-f", "-").must(t, "Deployment with a MIG init container")
	// Its ReplicaSet, made from the placed template, is not sent.
	eventually(t, time.Minute, "the Deployment's ReplicaSet exists", func() error {
		var list struct{ Items []pod }
		getJSON(t, &list, "replicasets", "-n", "gpu-team", "-l", "app=trainer")
		if len(list.Items) != 1 {
			return fmt.Errorf("%d ReplicaSets", len(list.Items))
		}
		return nil
	})
	want := []review{
		{"/mutate", "Pod", "gpu-team", "gpu"}, {"/validate", "Pod", "gpu-team", "gpu"},
		{"/mutate", "Pod", "gpu-team", "self-exempt"}, {"/validate", "Pod", "gpu-team", "self-exempt"},
		{"/mutate", "Pod", "gpu-team", "forged"}, {"/validate", "Pod", "gpu-team", "forged"},
		{"/mutate", "Deployment", "gpu-team", "trainer"}, {"/validate", "Deployment", "gpu-team", "trainer"},
	}
	if got := rec.reviews(); !slices.Equal(got, want) {
		t.Errorf("the webhook received\n  %v\nwant\n  %v", got, want)
	}
	checkExemptionGuard(t)

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
	if r := kubectl(t, "get", "-n", releaseNamespace, "cronjob/qm-quartermaster-auditor"); r.err == nil {
		t.Error("the auditor's CronJob still exists after helm uninstall")
	}
	kubectlIn(t, gpuPod("after", "gpu-team", 1, ""), "create", "-f", "-").must(t, "GPU pod after uninstall")
}

// ownedGPUPod is a bare GPU pod whose owner reference names a controller of
// the given kind (which does not exist: the API server does not check).
func ownedGPUPod(name, ns, apiVersion, kind string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  ownerReferences:
    - {apiVersion: %s, kind: %s, name: owner-of-%s, uid: 00000000-0000-0000-0000-000000000001, controller: true}
spec:
  containers:
    - {name: c, image: example.invalid/c, resources: {limits: {nvidia.com/gpu: 1}}}
`, name, ns, apiVersion, kind, name))
}

// checkExemptionGuard: a user allowed to update namespaces, but no exemption
// admin, can neither set nor remove the exemption label, and can still
// change other labels; the admin can.
func checkExemptionGuard(t *testing.T) {
	t.Helper()
	kubectl(t, "create", "clusterrole", "e2e-namespace-editor", "--verb=get,list,patch,update", "--resource=namespaces").must(t, "role")
	kubectl(t, "create", "clusterrolebinding", "e2e-namespace-editor", "--clusterrole=e2e-namespace-editor", "--user=mallory").must(t, "binding")
	t.Cleanup(func() {
		kubectl(t, "delete", "clusterrole,clusterrolebinding", "e2e-namespace-editor", "--ignore-not-found")
	})
	namespace(t, "gpu-tenant")
	as := []string{"--as=mallory", "--as-group=system:authenticated"}
	const msg = "only Quartermaster exemption admins may set, change or remove the label quartermaster.io/ignore"
	eventually(t, 30*time.Second, "the policy refuses a tenant's exemption", func() error {
		r := kubectl(t, append([]string{"label", "namespace", "gpu-tenant", "quartermaster.io/ignore=true"}, as...)...)
		if r.err == nil {
			kubectl(t, "label", "namespace", "gpu-tenant", "quartermaster.io/ignore-")
			return fmt.Errorf("mallory exempted a namespace")
		}
		if !strings.Contains(r.stderr, msg) {
			return fmt.Errorf("refused for another reason: %s", r.stderr)
		}
		return nil
	})
	kubectl(t, append([]string{"label", "namespace", "gpu-tenant", "team=vision"}, as...)...).must(t, "another label by the tenant")
	if r := kubectl(t, append([]string{"label", "namespace", "gpu-exempt", "quartermaster.io/ignore-"}, as...)...); r.err == nil ||
		!strings.Contains(r.stderr, msg) {
		t.Errorf("the tenant removed an exemption: %v %s", r.err, r.stderr)
	}
	kubectl(t, "label", "namespace", "gpu-tenant", "quartermaster.io/ignore=true").must(t, "the admin exempts a namespace")
}
