//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The real webhook (cmd/webhook) on the host, registered through the chart's
// externalURL with the default failurePolicy Fail, judged through the real
// kubectl and helm: the admission half of issue 6.

const (
	webhookRelease   = "qmw"
	webhookNamespace = "quartermaster-e2e"
)

// restrictedCatalog writes the embedded catalog cut down to the regions the
// cluster has nodes in, as a residency policy would restrict placement, so
// that every decision lands where a KWOK node of that offer exists.
func restrictedCatalog(t testing.TB) string {
	t.Helper()
	in, err := os.Open(filepath.Join(cluster.repo, "internal", "costing", "data", "catalog.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Split(line, ",")
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "cloud,") || len(fields) > 2 && slices.Contains(nodeRegions, fields[1]) {
			out.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "catalog.csv")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startAdmission starts the real webhook on the host with the restricted
// catalog (and extra flags), installs the chart pointed at it with the
// default failure policy, and removes both when the test ends.
func startAdmission(t testing.TB, port int, args ...string) *hostWebhook {
	t.Helper()
	return installAdmission(t, port, "Fail", restrictedCatalog(t), args...)
}

// installAdmission is startAdmission with the chart's webhook.failurePolicy
// and the webhook's catalog chosen by the test.
func installAdmission(t testing.TB, port int, failurePolicy, catalog string, args ...string) *hostWebhook {
	t.Helper()
	h := startHostWebhook(t, port, append([]string{"--catalog=" + catalog}, args...)...)
	chart := filepath.Join(cluster.repo, "charts", "quartermaster")
	helm(t, "install", webhookRelease, chart, "-n", webhookNamespace, "--create-namespace", "--wait", "--timeout", "2m",
		"--set", "webhook.inCluster=false", "--set", "auditor.enabled=false", "--set", "webhook.failurePolicy="+failurePolicy,
		"--set", "webhook.externalURL="+h.url, "--set", "webhook.externalCABundle="+h.cert.caBundle()).must(t, "helm install")
	t.Cleanup(func() {
		helm(t, "uninstall", webhookRelease, "-n", webhookNamespace, "--wait")
		// Waited for: the next test installs the release into it again.
		kubectl(t, "delete", "namespace", webhookNamespace, "--timeout=90s")
	})
	for _, kind := range []string{"mutatingwebhookconfiguration", "validatingwebhookconfiguration"} {
		var wc webhookConfig
		getJSON(t, &wc, kind, webhookRelease+"-quartermaster")
		if len(wc.Webhooks) != 1 || wc.Webhooks[0].FailurePolicy != failurePolicy {
			t.Fatalf("the chart's %s is not registered with failurePolicy %s: %+v", kind, failurePolicy, wc.Webhooks)
		}
	}
	return h
}

// decision is the part of the quartermaster.io/decision annotation (contract
// 4.2) the tests read.
type decision struct {
	ID           string  `json:"id"`
	Cloud        string  `json:"cloud"`
	Region       string  `json:"region"`
	InstanceType string  `json:"instanceType"`
	GPUModel     string  `json:"gpuModel"`
	Nodes        int     `json:"nodes"`
	CapacityType string  `json:"capacityType"`
	PricePerHour float64 `json:"pricePerHour"`
}

// placedObject is an admitted workload as the API server stored it.
type placedObject struct {
	Metadata objectMeta     `json:"metadata"`
	Spec     map[string]any `json:"spec"`
}

// decisionOf reads and decodes the decision annotation of a stored object.
func decisionOf(t testing.TB, obj placedObject) decision {
	t.Helper()
	raw := obj.Metadata.Annotations["quartermaster.io/decision"]
	if raw == "" {
		t.Fatalf("%s has no quartermaster.io/decision annotation: %v", obj.Metadata.Name, obj.Metadata.Annotations)
	}
	var d decision
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("decision annotation %q: %v", raw, err)
	}
	if d.Cloud == "" || d.Region == "" || d.InstanceType == "" || d.Nodes < 1 {
		t.Fatalf("incomplete decision %s", raw)
	}
	return d
}

// checkAffinity asserts that a stored pod spec carries the required node
// affinity of the decision.
func checkAffinity(t testing.TB, what string, podSpec any, d decision) {
	t.Helper()
	b, _ := json.Marshal(podSpec)
	var spec struct {
		Affinity struct {
			NodeAffinity struct {
				Required struct {
					Terms []struct {
						MatchExpressions []struct {
							Key, Operator string
							Values        []string
						} `json:"matchExpressions"`
					} `json:"nodeSelectorTerms"`
				} `json:"requiredDuringSchedulingIgnoredDuringExecution"`
			} `json:"nodeAffinity"`
		} `json:"affinity"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{cloudLabel: d.Cloud, regionLabel: d.Region, instanceLabel: d.InstanceType}
	terms := spec.Affinity.NodeAffinity.Required.Terms
	if len(terms) == 0 {
		t.Fatalf("%s: no required node affinity in %s", what, b)
	}
	for _, term := range terms {
		got := map[string]string{}
		for _, e := range term.MatchExpressions {
			if e.Operator == "In" && len(e.Values) == 1 {
				got[e.Key] = e.Values[0]
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: node affinity term %v pins %s to %q, want %q", what, term.MatchExpressions, k, got[k], v)
			}
		}
	}
}

// forNamespace reads a manifest as JSON (kubectl, offline), moves it to ns
// and keeps its pods Running under KWOK.
func forNamespace(t testing.TB, file, ns string) []byte {
	t.Helper()
	out := kubectl(t, "create", "--dry-run=client", "-f", file, "-o", "json").must(t, "reading "+file)
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatal(err)
	}
	obj["metadata"].(map[string]any)["namespace"] = ns
	b, _ := json.Marshal(obj)
	if _, ok := obj["spec"].(map[string]any)["template"]; ok {
		return keepRunning(t, string(b))
	}
	return b
}

// addGangNodes gives the fleet n ready nodes of the decision's offer (it has
// one per offer) and returns a selector for all nodes of that offer.
func addGangNodes(t testing.TB, d decision) string {
	t.Helper()
	nodesYAML := qm(t, "catalog", "nodes", "--cloud", d.Cloud, "--region", d.Region, "--instance-type", d.InstanceType,
		"--model", d.GPUModel, "--capacity-type", d.CapacityType, "--count", strconv.Itoa(d.Nodes)).must(t, "qm catalog nodes")
	selector := fmt.Sprintf("%s,%s=%s,%s=%s,%s=%s,%s=%s", fakeSelector, cloudLabel, d.Cloud, regionLabel, d.Region,
		instanceLabel, d.InstanceType, capacityLabel, d.CapacityType)
	before := nodes(t, selector)
	kubectlIn(t, []byte(nodesYAML), "apply", "-f", "-").must(t, "applying the gang's nodes")
	t.Cleanup(func() {
		for name := range nodes(t, selector) {
			if _, ok := before[name]; !ok {
				kubectl(t, "delete", "node", name, "--wait=false")
			}
		}
	})
	kubectl(t, "wait", "--for=condition=Ready", "node", "-l", selector, "--timeout=60s").must(t, "waiting for the gang's nodes")
	return selector
}

// waitRunningOn waits until want pods match podSelector in ns, all Running on
// nodes matching nodeSelector, and returns them.
func waitRunningOn(t testing.TB, ns, podSelector string, want int, nodeSelector string) []pod {
	t.Helper()
	var list struct{ Items []pod }
	eventually(t, 2*time.Minute, "all pods Running", func() error {
		getJSON(t, &list, "pods", "-n", ns, "-l", podSelector)
		if len(list.Items) != want {
			return fmt.Errorf("%d pods, want %d", len(list.Items), want)
		}
		for _, pd := range list.Items {
			if pd.Status.Phase != "Running" || pd.Spec.NodeName == "" {
				return fmt.Errorf("pod %s is %s on node %q", pd.Metadata.Name, pd.Status.Phase, pd.Spec.NodeName)
			}
		}
		return nil
	})
	fleet := nodes(t, nodeSelector)
	for _, pd := range list.Items {
		if _, ok := fleet[pd.Spec.NodeName]; !ok {
			t.Errorf("pod %s runs on %s, not on a node matching %s", pd.Metadata.Name, pd.Spec.NodeName, nodeSelector)
		}
	}
	return list.Items
}

// requestCounts scrapes quartermaster_webhook_requests_total from the
// webhook's metrics port, by "operation/kind/result".
func requestCounts(t testing.TB, h *hostWebhook) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	fam := metricFamilies(t, h.metrics(t))["quartermaster_webhook_requests_total"]
	for _, m := range fam.GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		out[l["operation"]+"/"+l["kind"]+"/"+l["result"]] += m.GetCounter().GetValue()
	}
	return out
}

// diff is what changed between two scrapes.
func diff(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

// TestWebhookAdmission runs the webhook scenarios against one webhook process
// and one chart release.
func TestWebhookAdmission(t *testing.T) {
	h := startAdmission(t, webhookPort(1))

	// A Deployment and a Job, applied as users apply them, are placed by the
	// webhook and run where it decided.
	t.Run("kubectl apply places Deployment and Job", func(t *testing.T) {
		tests := map[string]struct {
			file, namespace, serviceAccount, kind, name, selector string
			pods                                                  int
			capacity                                              string
		}{
			"Deployment": {file: "03-inference-deployment-l4.yaml", namespace: "wh-search", serviceAccount: "embeddings",
				kind: "deployment", name: "embeddings-api", selector: "app=embeddings-api", pods: 6, capacity: "on-demand"},
			"Job": {file: "06-spot-training-job.yaml", namespace: "wh-vision", serviceAccount: "trainer",
				kind: "job", name: "vision-resnet-sweep", selector: "batch.kubernetes.io/job-name=vision-resnet-sweep", pods: 2, capacity: "spot"},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				namespace(t, tc.namespace, tc.serviceAccount)
				manifest := forNamespace(t, filepath.Join(cluster.repo, "examples", "workloads", tc.file), tc.namespace)
				out := kubectlIn(t, manifest, "apply", "-f", "-").must(t, "kubectl apply")
				if !strings.Contains(out, "created") {
					t.Errorf("kubectl apply printed %q", out)
				}
				var obj placedObject
				getJSON(t, &obj, tc.kind, tc.name, "-n", tc.namespace)
				d := decisionOf(t, obj)
				t.Logf("webhook decision: %d × %s %s/%s %s (%s)", d.Nodes, d.InstanceType, d.Cloud, d.Region, d.GPUModel, d.CapacityType)
				if d.CapacityType != tc.capacity {
					t.Errorf("placed on %s capacity, want %s", d.CapacityType, tc.capacity)
				}
				if !slices.Contains(nodeRegions, d.Region) {
					t.Errorf("placed in %s, outside the catalog the webhook was given", d.Region)
				}
				checkAffinity(t, tc.kind, obj.Spec["template"].(map[string]any)["spec"], d)

				nodeSel := addGangNodes(t, d)
				for _, pd := range waitRunningOn(t, tc.namespace, tc.selector, tc.pods, nodeSel) {
					tolerates := slices.ContainsFunc(pd.Spec.Tolerations, func(x struct{ Key, Operator, Effect string }) bool {
						return x.Key == spotTaint
					})
					if tolerates != (tc.capacity == "spot") {
						t.Errorf("pod %s: spot toleration %v, capacity %s", pd.Metadata.Name, tolerates, tc.capacity)
					}
				}
			})
		}
	})

	// A workload the policies deny fails kubectl apply with the policy's
	// message; a warned one is admitted and kubectl shows the warning.
	t.Run("kubectl apply shows denials and warnings", func(t *testing.T) {
		namespace(t, "wh-policy", "embeddings")
		denied := forNamespace(t, filepath.Join("testdata", "denied-registry.yaml"), "wh-policy")
		r := kubectlIn(t, denied, "apply", "-f", "-")
		if r.err == nil {
			t.Fatalf("a GPU Job from quay.io/untrusted was admitted:\n%s", r.stdout)
		}
		for _, want := range []string{"denied the request", "access-registry", "image quay.io/untrusted/miner:1.0", "is not from an allowed registry"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("kubectl's output lacks %q:\n%s", want, r.stderr)
			}
		}
		if kubectl(t, "get", "job", "denied-registry", "-n", "wh-policy").err == nil {
			t.Errorf("the denied Job exists")
		}

		warned := forNamespace(t, filepath.Join("testdata", "warned-budget.yaml"), "wh-policy")
		r = kubectlIn(t, warned, "apply", "-f", "-")
		r.must(t, "applying the warned Deployment")
		for _, want := range []string{"Warning:", "budget-price-per-hour", "of team search's cap of $10.00/h"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("kubectl's output lacks %q:\n%s", want, r.stderr)
			}
		}
		var obj placedObject
		getJSON(t, &obj, "deployment", "warned-budget", "-n", "wh-policy")
		decisionOf(t, obj)
	})

	// Only GPU objects outside the excluded namespaces ever reach the webhook:
	// its own request counter does not move for anything else.
	t.Run("only GPU objects reach the webhook", func(t *testing.T) {
		namespace(t, "wh-mixed", "embeddings")
		before := requestCounts(t, h)
		kubectlIn(t, gpuPod("cpu", "wh-mixed", 0, ""), "create", "-f", "-").must(t, "non-GPU pod")
		kubectlIn(t, gpuPod("system-gpu", "kube-system", 1, ""), "create", "-f", "-").must(t, "GPU pod in kube-system")
		t.Cleanup(func() { kubectl(t, "delete", "pod", "system-gpu", "-n", "kube-system", "--wait=false") })
		kubectlIn(t, gpuPod("system-cpu", "kube-system", 0, ""), "create", "-f", "-").must(t, "non-GPU pod in kube-system")
		t.Cleanup(func() { kubectl(t, "delete", "pod", "system-cpu", "-n", "kube-system", "--wait=false") })
		exemptNamespace(t, "wh-exempt")
		kubectlIn(t, gpuPod("exempt", "wh-exempt", 1, ""), "create", "-f", "-").must(t, "GPU pod in an exempt namespace")
		kubectl(t, "create", "deployment", "web", "-n", "wh-mixed", "--image=nginx", "--replicas=2").must(t, "non-GPU Deployment")
		// Its ReplicaSet and pods come from the controllers: wait for them.
		eventually(t, time.Minute, "the non-GPU Deployment's pods exist", func() error {
			var list struct{ Items []pod }
			getJSON(t, &list, "pods", "-n", "wh-mixed", "-l", "app=web")
			if len(list.Items) != 2 {
				return fmt.Errorf("%d pods", len(list.Items))
			}
			return nil
		})
		if d := diff(before, requestCounts(t, h)); len(d) != 0 {
			t.Errorf("non-GPU or excluded objects reached the webhook: %v", d)
		}

		// The counter does move for a GPU pod: the check above could fail.
		gpu := `apiVersion: v1
kind: Pod
metadata: {name: gpu, namespace: wh-mixed, annotations: {quartermaster.io/team: search}}
spec:
  serviceAccountName: embeddings
  containers:
    - {name: c, image: ghcr.io/example/embeddings:1.9, resources: {limits: {nvidia.com/gpu: 1}}}
`
		kubectlIn(t, []byte(gpu), "create", "-f", "-").must(t, "GPU pod")
		d := diff(before, requestCounts(t, h))
		if d["mutate/Pod/patched"] != 1 || d["validate/Pod/allowed"] != 1 || len(d) != 2 {
			t.Errorf("one GPU pod: the webhook counted %v, want one mutate/Pod/patched and one validate/Pod/allowed", d)
		}
		t.Logf("webhook requests after the GPU pod: %v", d)
	})

	// A PyTorchJob (a CRD of our own, no operator) is placed as a gang: every
	// replica spec gets the same pinning, and the decision covers all nodes.
	t.Run("kubectl apply places a PyTorchJob", func(t *testing.T) {
		kubectl(t, "apply", "-f", filepath.Join("testdata", "pytorchjob-crd.yaml")).must(t, "installing the PyTorchJob CRD")
		t.Cleanup(func() { kubectl(t, "delete", "-f", filepath.Join("testdata", "pytorchjob-crd.yaml"), "--wait=false") })
		kubectl(t, "wait", "--for=condition=Established", "crd/pytorchjobs.kubeflow.org", "--timeout=60s").must(t, "waiting for the CRD")
		namespace(t, "wh-research", "trainer")
		manifest := forNamespace(t, filepath.Join(cluster.repo, "examples", "workloads", "01-pytorchjob-llm-pretrain.yaml"), "wh-research")
		// The API server may take a moment to serve the new resource.
		eventually(t, 30*time.Second, "kubectl apply of the PyTorchJob", func() error {
			if r := kubectlIn(t, manifest, "apply", "-f", "-"); r.err != nil {
				return fmt.Errorf("%v: %s", r.err, r.stderr)
			}
			return nil
		})
		var obj placedObject
		getJSON(t, &obj, "pytorchjob", "llm-pretrain-7b", "-n", "wh-research")
		d := decisionOf(t, obj)
		t.Logf("webhook decision: %d × %s %s/%s %s (%s)", d.Nodes, d.InstanceType, d.Cloud, d.Region, d.GPUModel, d.CapacityType)
		if d.Nodes != 4 || (d.GPUModel != "H100" && d.GPUModel != "H200") {
			t.Errorf("32 GPUs of H100/H200 in 8-GPU replicas: got %d nodes of %s", d.Nodes, d.GPUModel)
		}
		specs, _ := obj.Spec["pytorchReplicaSpecs"].(map[string]any)
		for _, role := range []string{"Master", "Worker"} {
			rs, _ := specs[role].(map[string]any)
			tmpl, _ := rs["template"].(map[string]any)
			checkAffinity(t, "PyTorchJob "+role, tmpl["spec"], d)
		}
	})

	// A Helm release with one allowed and one denied GPU workload fails, and
	// --atomic leaves neither behind: no half-applied gang.
	t.Run("a Helm release with a denied workload leaves nothing behind", func(t *testing.T) {
		namespace(t, "wh-helm", "embeddings")
		r := helm(t, "install", "mixed", filepath.Join("testdata", "charts", "mixed-release"), "-n", "wh-helm", "--atomic", "--timeout", "2m")
		if r.err == nil {
			t.Fatalf("helm install of a release with a denied GPU Job succeeded:\n%s", r.stdout)
		}
		for _, want := range []string{"denied the request", "access-registry", "quay.io/untrusted/miner:1.0"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("helm's output lacks %q:\n%s", want, r.stderr)
			}
		}
		for _, kind := range []string{"deployments", "jobs"} {
			var list struct {
				Items []struct{ Metadata objectMeta }
			}
			getJSON(t, &list, kind, "-n", "wh-helm")
			if len(list.Items) != 0 {
				t.Errorf("%d %s left behind by the failed release, e.g. %s", len(list.Items), kind, list.Items[0].Metadata.Name)
			}
		}
		// The allowed Deployment's ReplicaSet and pod go by garbage collection.
		eventually(t, time.Minute, "the rolled-back Deployment's ReplicaSets and pods are gone", func() error {
			for _, kind := range []string{"replicasets", "pods"} {
				var list struct {
					Items []struct{ Metadata objectMeta }
				}
				getJSON(t, &list, kind, "-n", "wh-helm")
				if len(list.Items) != 0 {
					return fmt.Errorf("%d %s left, e.g. %s", len(list.Items), kind, list.Items[0].Metadata.Name)
				}
			}
			return nil
		})
		if helm(t, "status", "mixed", "-n", "wh-helm").err == nil {
			t.Errorf("the failed release still exists")
		}
	})
}
