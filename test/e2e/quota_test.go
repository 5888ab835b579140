//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// quotaGang is a gang of two pods with one A10G each, for the search team.
// A10G is offered by one cloud only, at a different price in each region
// (no ties), so the cheapest region and the next one are unambiguous; the
// test still reads both from qm eval rather than hard-coding them.
const quotaGang = `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  namespace: %s
  annotations:
    quartermaster.io/team: search
    quartermaster.io/gpu-models: A10G
    quartermaster.io/expected-duration: 1h
spec:
  parallelism: %d
  completions: %d
  template:
    spec:
      restartPolicy: Never
      serviceAccountName: embeddings
      containers:
        - name: worker
          image: ghcr.io/example/embeddings:1.9
          resources:
            limits: {nvidia.com/gpu: 1}
`

const quotaGangPods = 2 // one GPU each

// podList is what the quota test reads of every pod in the cluster.
type podList struct {
	Items []struct {
		Metadata struct {
			Namespace         string `json:"namespace"`
			DeletionTimestamp string `json:"deletionTimestamp"`
		} `json:"metadata"`
		Spec struct {
			NodeName   string `json:"nodeName"`
			Containers []struct {
				Resources struct {
					Limits map[string]string `json:"limits"`
				} `json:"resources"`
			} `json:"containers"`
		} `json:"spec"`
		Status struct{ Phase string } `json:"status"`
	}
}

func listPods(t testing.TB) podList {
	t.Helper()
	var pods podList
	getJSON(t, &pods, "pods", "-A")
	return pods
}

// heldOn is the GPUs held by the pods on the fleet's nodes that have not
// finished: what the webhook's informers count against a quota. terminating
// counts those of them being deleted, still held until they are gone.
func heldOn(pods podList, fleet map[string]node) (held, terminating int) {
	for _, p := range pods.Items {
		if _, ok := fleet[p.Spec.NodeName]; !ok || p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" {
			continue
		}
		gpus := 0
		for _, c := range p.Spec.Containers {
			n, _ := strconv.Atoi(c.Resources.Limits["nvidia.com/gpu"])
			gpus += n
		}
		held += gpus
		if gpus > 0 && p.Metadata.DeletionTimestamp != "" {
			terminating++
		}
	}
	return held, terminating
}

// gpuUsage is heldOn for the nodes matching nodeSelector, now.
func gpuUsage(t testing.TB, nodeSelector string) (held, terminating int) {
	t.Helper()
	return heldOn(listPods(t), nodes(t, nodeSelector))
}

// settledUsage waits until nothing is being deleted that could change the
// GPUs held on the nodes matching nodeSelector, and returns them. Earlier
// tests delete their namespaces without waiting, and their pods (GPU pods
// admitted unplaced by a fail-open webhook land on any GPU node) go away in
// the background. What the webhook counts is pods, so a terminating
// namespace is settled once it holds none (none can be created in it any
// more): the namespace object itself lingers for up to its pods' grace
// period, because the namespace controller checks again only then.
func settledUsage(t testing.TB, nodeSelector string) int {
	t.Helper()
	fleet := nodes(t, nodeSelector)
	var held int
	start := time.Now()
	eventually(t, 3*time.Minute, "earlier tests' pods are gone", func() error {
		var namespaces struct {
			Items []struct {
				Metadata objectMeta
				Status   struct{ Phase string }
			}
		}
		getJSON(t, &namespaces, "namespaces")
		pods := listPods(t)
		podsIn := map[string]int{}
		for _, p := range pods.Items {
			podsIn[p.Metadata.Namespace]++
		}
		for _, ns := range namespaces.Items {
			if n := podsIn[ns.Metadata.Name]; ns.Status.Phase == "Terminating" && n > 0 {
				return fmt.Errorf("namespace %s is terminating with %d pods left", ns.Metadata.Name, n)
			}
		}
		var terminating int
		if held, terminating = heldOn(pods, fleet); terminating > 0 {
			return fmt.Errorf("%d GPU pods on %s are terminating", terminating, nodeSelector)
		}
		return nil
	})
	t.Logf("waited %s for earlier tests' pods to go", time.Since(start).Round(100*time.Millisecond))
	return held
}

// evalPlacement asks qm eval (the webhook's decision, offline) where a
// manifest goes with the given quota and usage files.
func evalPlacement(t testing.TB, manifest, catalog, quota, usage string) decision {
	t.Helper()
	out := qm(t, "eval", "-f", manifest, "--catalog", catalog, "--quota", quota, "--usage", usage, "-o", "json").must(t, "qm eval")
	var outcomes []struct {
		Allowed   bool      `json:"allowed"`
		Placement *decision `json:"placement"`
	}
	if err := json.Unmarshal([]byte(out), &outcomes); err != nil || len(outcomes) != 1 || !outcomes[0].Allowed || outcomes[0].Placement == nil {
		t.Fatalf("qm eval: want one allowed, placed outcome (%v):\n%s", err, out)
	}
	return *outcomes[0].Placement
}

// TestQuotaNextRegion: once a region's quota is consumed by running pods,
// the next gang goes to the next cheapest region. The webhook runs with a
// quota for (cloud, region A, A10G) that fits exactly two gangs. Gang 1 is
// placed in A and its pods run there. Gang 2 is placed in A too, but its
// pods are held back from scheduling (a scheduling gate): the informers
// count them where their node affinity pins them, not only once bound. So
// gang 3 is placed in the next cheapest region B, where its pods run.
func TestQuotaNextRegion(t *testing.T) {
	const ns = "wh-quota"
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	gang := func(name string) string {
		return fmt.Sprintf(quotaGang, name, ns, quotaGangPods, quotaGangPods)
	}
	catalog := restrictedCatalog(t)
	manifest := write("gang.yaml", gang("gang-1"))

	// Region A: where qm places the gang with no quota at all.
	noQuota := write("no-quota.yaml", "quotas: []\n")
	noUsage := write("no-usage.yaml", "usage: []\n")
	a := evalPlacement(t, manifest, catalog, noQuota, noUsage)
	offerA := fmt.Sprintf("%s,%s=%s,%s=%s,%s=%s", fakeSelector, cloudLabel, a.Cloud, regionLabel, a.Region, productLabel, a.GPUModel)
	// The quota fits what already runs there (nothing, normally) plus exactly two gangs.
	held := settledUsage(t, offerA)
	quotaYAML := fmt.Sprintf("quotas:\n  - {cloud: %s, region: %s, gpuModel: %s, gpus: %d}\n", a.Cloud, a.Region, a.GPUModel, held+2*quotaGangPods)
	quota := write("quota.yaml", quotaYAML)
	usageYAML := func(gpus int) string {
		return write(fmt.Sprintf("usage-%d.yaml", gpus),
			fmt.Sprintf("usage:\n  - {cloud: %s, region: %s, gpuModel: %s, gpus: %d}\n", a.Cloud, a.Region, a.GPUModel, gpus))
	}
	// What qm decides under that quota: A while it has room, B once two gangs hold it.
	wantA := evalPlacement(t, manifest, catalog, quota, usageYAML(held))
	wantB := evalPlacement(t, manifest, catalog, quota, usageYAML(held+2*quotaGangPods))
	for _, used := range []int{held, held + quotaGangPods} {
		if got := evalPlacement(t, manifest, catalog, quota, usageYAML(used)); got.Cloud != a.Cloud || got.Region != a.Region {
			t.Fatalf("qm eval: with %d GPUs used, room for a gang left, it goes to %s/%s, not %s/%s", used, got.Cloud, got.Region, a.Cloud, a.Region)
		}
	}
	if wantB.Cloud == a.Cloud && wantB.Region == a.Region {
		t.Fatalf("qm eval: with %s/%s's quota used up the gang still goes there", a.Cloud, a.Region)
	}
	if wantB.PricePerHour < wantA.PricePerHour {
		t.Fatalf("qm eval: region B (%s, $%.4f/h) is cheaper than A (%s, $%.4f/h)", wantB.Region, wantB.PricePerHour, wantA.Region, wantA.PricePerHour)
	}
	t.Logf("quota: %s/%s %s ≤ %d GPUs (%d already held); qm eval: gangs 1 and 2 → %s/%s $%.4f/h, then gang 3 → %s/%s $%.4f/h",
		a.Cloud, a.Region, a.GPUModel, held+2*quotaGangPods, held, wantA.Cloud, wantA.Region, wantA.PricePerHour, wantB.Cloud, wantB.Region, wantB.PricePerHour)

	installAdmission(t, webhookPort(7), "Fail", catalog, "--quota="+quota)
	namespace(t, ns, "embeddings")

	// place applies a gang through the webhook and waits for its pods to run
	// on nodes of the offer it was placed on.
	// A gated gang's pods are created but never scheduled: placed, not bound.
	place := func(name string, want decision, gated bool) {
		t.Helper()
		manifest := keepRunning(t, jobJSON(t, gang(name)))
		if gated {
			manifest = withSchedulingGate(t, manifest)
		}
		kubectlIn(t, manifest, "apply", "-f", "-").must(t, "kubectl apply "+name)
		var obj placedObject
		getJSON(t, &obj, "job", name, "-n", ns)
		d := decisionOf(t, obj)
		t.Logf("%s: webhook decision %d × %s %s/%s %s $%.4f/h", name, d.Nodes, d.InstanceType, d.Cloud, d.Region, d.GPUModel, d.PricePerHour)
		if d.Cloud != want.Cloud || d.Region != want.Region || d.InstanceType != want.InstanceType || d.GPUModel != want.GPUModel {
			t.Fatalf("%s placed on %s %s/%s %s, want %s %s/%s %s", name, d.InstanceType, d.Cloud, d.Region, d.GPUModel,
				want.InstanceType, want.Cloud, want.Region, want.GPUModel)
		}
		checkAffinity(t, name, obj.Spec["template"].(map[string]any)["spec"], d)
		if gated {
			waitGated(t, ns, "batch.kubernetes.io/job-name="+name, quotaGangPods)
			// The webhook sees the pods through a watch and publishes its
			// view within 50 ms (the informers' debounce); a second is ample.
			time.Sleep(time.Second)
			return
		}
		waitRunningOn(t, ns, "batch.kubernetes.io/job-name="+name, quotaGangPods, addGangNodes(t, d))
	}
	place("gang-1", wantA, false)
	if got, _ := gpuUsage(t, offerA); got != held+quotaGangPods {
		t.Fatalf("%d GPUs held in %s/%s after gang 1, want %d", got, a.Cloud, a.Region, held+quotaGangPods)
	}
	place("gang-2", wantA, true)
	place("gang-3", wantB, false)
}

// withSchedulingGate adds a scheduling gate to a Job's pod template: its pods
// are created, and stay Pending without a node.
func withSchedulingGate(t testing.TB, manifest []byte) []byte {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(manifest, &obj); err != nil {
		t.Fatal(err)
	}
	spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["schedulingGates"] = []any{map[string]any{"name": "e2e.quartermaster.io/hold"}}
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitGated waits until want pods match podSelector, all Pending, gated and
// bound to no node.
func waitGated(t testing.TB, ns, podSelector string, want int) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("%d gated pods %s", want, podSelector), func() error {
		var list struct {
			Items []struct {
				Spec struct {
					NodeName        string           `json:"nodeName"`
					SchedulingGates []map[string]any `json:"schedulingGates"`
				} `json:"spec"`
				Status struct {
					Phase string `json:"phase"`
				} `json:"status"`
			} `json:"items"`
		}
		getJSON(t, &list, "pods", "-n", ns, "-l", podSelector)
		if len(list.Items) != want {
			return fmt.Errorf("%d pods", len(list.Items))
		}
		for _, p := range list.Items {
			if p.Spec.NodeName != "" || p.Status.Phase != "Pending" || len(p.Spec.SchedulingGates) == 0 {
				return fmt.Errorf("a pod is %s on node %q with gates %v", p.Status.Phase, p.Spec.NodeName, p.Spec.SchedulingGates)
			}
		}
		return nil
	})
}

// jobJSON reads a manifest as JSON (kubectl, offline).
func jobJSON(t testing.TB, manifest string) string {
	t.Helper()
	return kubectlIn(t, []byte(manifest), "create", "--dry-run=client", "-f", "-", "-o", "json").must(t, "reading a manifest")
}
