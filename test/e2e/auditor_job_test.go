//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/quartermaster-io/quartermaster/internal/report/openreports"
)

// auditorGPUPods is the namespace size of kyverno#2674 ("etcdserver: request is too large" at about 2,000 pods).
const auditorGPUPods = 2000

// TestAuditorJob: the chart installed with its defaults (the auditor on, auditing its own cluster into OpenReports)
// and only what the real node needs (the webhook test's host network and API server address, for the auditor too);
// 2,000 GPU pods in one namespace, bound to KWOK GPU nodes in us-east-1 while their data must stay in the EU (one
// residency finding each); a Job made from the chart's CronJob, as an operator runs one, runs the image's auditor as
// a real pod on the real node; and the OpenReports it wrote are read back and measured: as the API server returns
// them and as etcd stores them.
func TestAuditorJob(t *testing.T) {
	began := time.Now()
	b := builtImage(t)
	ctx := context.Background()

	// The pods first: the audit is of a cluster that has them.
	const ns = "aj-gpu"
	exemptNamespace(t, ns) // they are not what the webhook test is about: nothing sends them to it
	var east []string
	for name := range nodes(t, fakeSelector+","+regionLabel+"=us-east-1") {
		east = append(east, name)
	}
	slices.Sort(east)
	if len(east) == 0 {
		t.Fatal("no KWOK node in us-east-1")
	}
	cs := clientset(t)
	start := time.Now()
	var wg sync.WaitGroup
	next, errs := make(chan int), make(chan error, auditorGPUPods)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("trainer-7d9f8b6c4-%05d", i), Namespace: ns,
						Labels: map[string]string{"app": "trainer", "quartermaster.io/residency": "eu", "quartermaster.io/team": "vision"}},
					Spec: corev1.PodSpec{NodeName: east[i%len(east)], Containers: []corev1.Container{{Name: "c", Image: "nvcr.io/nvidia/pytorch:24.01-py3",
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}}}},
				}
				if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range auditorGPUPods {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d GPU pods created in %s on %d KWOK nodes in us-east-1", auditorGPUPods, time.Since(start).Round(100*time.Millisecond), len(east))

	// The chart, auditor on by default; the auditor shares the real node's network to reach the API server on
	// 127.0.0.1, as the webhook does.
	installOnRealNode(t, b,
		"--set", "auditor.hostNetwork=true",
		"--set", "auditor.nodeSelector.kubernetes\\.io/hostname="+realNode,
		"--set-json", `auditor.tolerations=[{"key": "quartermaster.io/real-node", "operator": "Exists", "effect": "NoSchedule"}]`,
		"--set-json", fmt.Sprintf(`auditor.env=[{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"}, {"name": "KUBERNETES_SERVICE_PORT", "value": "%d"}]`, cluster.portBase))
	cronJob := inClusterRelease + "-quartermaster-auditor"
	const job = "auditor-e2e"
	start = time.Now()
	kubectl(t, "create", "job", "-n", inClusterNamespace, "--from=cronjob/"+cronJob, job).must(t, "kubectl create job --from=cronjob/"+cronJob)
	var status struct {
		Status struct{ Succeeded, Failed int } `json:"status"`
	}
	eventually(t, 5*time.Minute, "the auditor Job to complete", func() error {
		getJSON(t, &status, "job", job, "-n", inClusterNamespace)
		switch {
		case status.Status.Failed > 0:
			logs := kubectl(t, "logs", "-n", inClusterNamespace, "job/"+job, "--tail=40")
			t.Fatalf("the auditor Job failed:\n%s%s\n%s", logs.stdout, logs.stderr, kubectl(t, "describe", "job", job, "-n", inClusterNamespace).stdout)
		case status.Status.Succeeded == 0:
			return fmt.Errorf("not done")
		}
		return nil
	})
	ran := time.Since(start)
	var pods struct{ Items []webhookPod }
	getJSON(t, &pods, "pods", "-n", inClusterNamespace, "-l", "batch.kubernetes.io/job-name="+job)
	if len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != realNode {
		t.Errorf("auditor pods %+v, want one on %s", pods.Items, realNode)
	}
	logs := kubectl(t, "logs", "-n", inClusterNamespace, "job/"+job).must(t, "the auditor's log")
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.Contains(line, "reports written") || strings.Contains(line, "audit done") || strings.Contains(line, "cluster scanned") {
			t.Logf("auditor: %s", line)
		}
	}
	t.Logf("auditor Job created to complete: %s", ran.Round(100*time.Millisecond))

	// The namespace's report: owned by the run's cluster report, cut to at most 1,000 results, counting all 2,000
	// findings and pointing at the run's report.json.
	c := adminClient(t)
	const api = string(openreports.OpenReports)
	rep, size := getReport(t, c, api, "Report", ns, openreports.ReportName)
	if rep == nil {
		t.Fatalf("no Report in %s", ns)
	}
	owners := rep.GetOwnerReferences()
	if len(owners) != 1 || owners[0].Kind != "ClusterReport" || owners[0].APIVersion != api {
		t.Fatalf("report %s owners %+v, want the run's ClusterReport", ns, owners)
	}
	cr, crSize := getReport(t, c, api, "ClusterReport", "", owners[0].Name)
	if cr == nil || cr.GetUID() != owners[0].UID {
		t.Fatalf("the report's owner %s/%s is not the run's ClusterReport (%v)", owners[0].Name, owners[0].UID, cr != nil)
	}
	// The run's reports go with the test (the namespace's with its namespace, or by the garbage collector).
	t.Cleanup(func() { kubectl(t, "delete", "clusterreports.openreports.io", cr.GetName(), "--wait=false") })
	runID := cr.GetAnnotations()[openreports.AnnotationRun]
	fullReport := "/reports/" + job + "/report.json"
	if runID == "" || cr.GetAnnotations()[openreports.AnnotationFullReport] != fullReport {
		t.Errorf("cluster report %s annotations %v: want the run's ID and %s", cr.GetName(), cr.GetAnnotations(), fullReport)
	}
	results, _, _ := unstructured.NestedSlice(rep.Object, "results")
	fails, _, _ := unstructured.NestedInt64(rep.Object, "summary", "fail")
	ann := rep.GetAnnotations()
	if len(results) == 0 || len(results) > openreports.DefaultMaxResults || fails < auditorGPUPods ||
		ann[openreports.AnnotationTotal] != fmt.Sprint(fails) || ann[openreports.AnnotationFullReport] != fullReport {
		t.Errorf("report %s: %d results, %d failures, annotations %v; want at most %d results, at least %d failures, the total and %s",
			ns, len(results), fails, ann, openreports.DefaultMaxResults, auditorGPUPods, fullReport)
	}
	residency := 0
	for _, r := range results {
		rule, _, _ := unstructured.NestedString(r.(map[string]any), "rule")
		refs, _, _ := unstructured.NestedSlice(r.(map[string]any), "resources")
		if rule == "audit-outside-residency" && len(refs) == 1 && refs[0].(map[string]any)["kind"] == "Pod" && refs[0].(map[string]any)["namespace"] == ns {
			residency++
		}
	}
	if residency != len(results) {
		t.Errorf("%d of %d results are the pods' residency findings", residency, len(results))
	}

	// Every report of the run, as the API server returns it and as etcd stores it.
	var list unstructured.UnstructuredList
	list.SetAPIVersion(api)
	list.SetKind("ReportList")
	if err := c.List(ctx, &list, client.MatchingLabels{openreports.LabelManagedBy: openreports.FieldManager}); err != nil {
		t.Fatal(err)
	}
	total, largest, reports := crSize, size, 1
	for i := range list.Items {
		r := &list.Items[i]
		if o := r.GetOwnerReferences(); len(o) != 1 || o[0].UID != cr.GetUID() {
			continue // an earlier run's, or another test's
		}
		_, s := getReport(t, c, api, "Report", r.GetNamespace(), r.GetName())
		total += s
		largest = max(largest, s)
		reports++
		if s > openreports.DefaultMaxBytes {
			t.Errorf("report %s: %d bytes, over 256 KiB", r.GetNamespace(), s)
		}
	}
	gpuPods := 0
	for _, p := range listPods(t).Items {
		if strings.Contains(fmt.Sprint(p.Spec), "nvidia.com/gpu") {
			gpuPods++
		}
	}
	etcdNS, etcdCR := etcdValueSize(t, "/registry/openreports.io/reports/"+ns+"/"+openreports.ReportName),
		etcdValueSize(t, "/registry/openreports.io/clusterreports/"+cr.GetName())
	perThousand := float64(size+crSize) * 1000 / auditorGPUPods
	t.Logf("run %s: report %s: %d of %d results, %d bytes from the API server, %d bytes in etcd; cluster report %d bytes (%d in etcd); "+
		"%.0f bytes of reports per 1,000 GPU pods in this namespace; all %d reports of the run: %d bytes (largest %d) for %d GPU pods in the cluster",
		runID, ns, len(results), fails, size, etcdNS, crSize, etcdCR, perThousand, reports, total, largest, gpuPods)
	if size > openreports.DefaultMaxBytes || etcdNS > openreports.DefaultMaxBytes {
		t.Errorf("report %s: %d bytes (%d in etcd), over 256 KiB", ns, size, etcdNS)
	}
	if perThousand > 2_000_000 || float64(total)*1000/float64(max(gpuPods, 1)) > 2_000_000 {
		t.Errorf("%.0f bytes of reports per 1,000 GPU pods in %s, %d bytes for the cluster's %d: want ≤ 2 MB per 1,000", perThousand, ns, total, gpuPods)
	}
	t.Logf("TestAuditorJob wall time: %s", time.Since(began).Round(100*time.Millisecond))
}

// etcdValueSize is the size of the value etcd holds at key, read through etcd's JSON gateway (/v3/kv/range) on the
// cluster's client port: what the API server stored, the key apart.
func etcdValueSize(t testing.TB, key string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v3/kv/range", cluster.portBase+1), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("reading %s from etcd: %v", key, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		KVs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK || len(out.KVs) != 1 {
		t.Fatalf("etcd range %s: %s %v: %s", key, resp.Status, err, raw)
	}
	v, err := base64.StdEncoding.DecodeString(out.KVs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	return len(v)
}
