//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/report/openreports"
)

// getReport reads a report object; nil when it does not exist. size is its
// JSON encoding as the API server returns it, managed fields included:
// what etcd stores for a custom resource, but for the key.
func getReport(t testing.TB, c client.Client, apiVersion, kind, ns, name string) (u *unstructured.Unstructured, size int) {
	t.Helper()
	u = &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil, 0
	}
	if err != nil {
		t.Fatalf("reading %s %s/%s: %v", kind, ns, name, err)
	}
	raw, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return u, len(raw)
}

func runHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}

func gpuFinding(ns, pod, code, category, severity string, cost float64) audit.Finding {
	msgs := map[string]string{
		"idle-gpu":           "8 H100 GPUs of pod %s averaged 2%% utilisation (DCGM_FI_PROF_GR_ENGINE_ACTIVE) over the last 7 days",
		"placement-drift":    "pod %s runs on p5.48xlarge in us-east-1, its decision placed it on a3-highgpu-8g in europe-west4",
		"unencrypted-volume": "pod %s mounts claim checkpoints of StorageClass gp3, which does not set encrypted: \"true\"",
	}
	// The checks' own remediations, as internal/audit and policies/rego/audit write them: one per rule.
	remediations := map[string]string{
		"idle-gpu":           "release the GPU (scale the workload down, or size it to a smaller or shared GPU: MIG, time-slicing)",
		"placement-drift":    "re-apply the workload so that admission places it again, or find what removed its node affinity",
		"unencrypted-volume": "encrypt it at rest (copy a disk or snapshot to an encrypted one; turn on default encryption for a bucket)",
	}
	sum := sha256.Sum256([]byte(ns + pod + code))
	return audit.Finding{ID: hex.EncodeToString(sum[:8]), Category: category, Severity: severity, Code: code,
		Resource: "Pod " + ns + "/" + pod, Account: kubeContext, Cloud: "aws", Region: "us-east-1", Namespace: ns,
		Team: "vision", Policy: "quartermaster.audit." + category, Message: fmt.Sprintf(msgs[code], pod), MonthlyCost: cost,
		Remediation: remediations[code]}
}

// gpuPodFindings are n GPU pods' worth of findings in a namespace: each
// pod idle (with its cost), drifted and mounting an unencrypted claim.
func gpuPodFindings(ns string, n int) []audit.Finding {
	var fs []audit.Finding
	for i := range n {
		pod := fmt.Sprintf("trainer-7d9f8b6c4-%05d", i)
		fs = append(fs, gpuFinding(ns, pod, "idle-gpu", "waste", "high", 23000+float64(i)),
			gpuFinding(ns, pod, "placement-drift", "drift", "medium", 0),
			gpuFinding(ns, pod, "unencrypted-volume", "compliance", "critical", 0))
	}
	return fs
}

// TestOpenReports writes the findings of three audit runs as OpenReports
// into the real cluster, by server-side apply: the reports' content, their
// ownership by the run's ConfigMap, the real garbage collector deleting the
// report of a namespace that became clean, and the size of the objects for
// 1,000 GPU pods' worth of findings; then the wgpolicyk8s.io option.
func TestOpenReports(t *testing.T) {
	ctx := context.Background()
	c := adminClient(t)
	kubectl(t, "apply", "-f", filepath.Join("..", "..", "charts", "quartermaster", "crds")).must(t, "installing the OpenReports CRDs")
	kubectl(t, "wait", "--for=condition=Established", "crd/reports.openreports.io", "crd/clusterreports.openreports.io", "--timeout=60s").must(t, "waiting for the CRDs")
	const nsA, nsB = "qm-orep-a", "qm-orep-b"
	exemptNamespace(t, nsA)
	exemptNamespace(t, nsB)
	const api = string(openreports.OpenReports)

	w, err := openreports.NewWriter(openreports.Config{Client: c, Account: kubeContext, FullReport: "s3://audit/report.json"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	f := func(id, resource, ns, severity string, cost float64) audit.Finding {
		return audit.Finding{ID: id, Category: "waste", Severity: severity, Code: "idle-gpu", Resource: resource,
			Account: kubeContext, Cloud: "aws", Namespace: ns, Policy: "quartermaster.audit.waste", Message: "idle " + id, MonthlyCost: cost}
	}
	run1 := []audit.Finding{
		f("a-high", "Pod "+nsA+"/trainer-1", nsA, "high", 2400),
		f("a-crit", "Pod "+nsA+"/trainer-0", nsA, "critical", 0),
		f("a-info", "VolumeClaim "+nsA+"/data", nsA, "info", 0), // a warning: not written by default
		f("a-med", "Workload "+nsA+"/train", nsA, "medium", 0),
		f("b-high", "Pod "+nsB+"/job-0", nsB, "high", 10),
		f("b-ns", "Namespace "+nsB, "", "low", 0),
		f("node", "Node qm-orep-node", "", "high", 900),
	}
	other := f("elsewhere", "Pod "+nsA+"/x", nsA, "critical", 0)
	other.Account = "another-cluster"
	run1 = append(run1, other)

	out, err := w.Write(ctx, openreports.Run{ID: "run-1", Time: start}, run1)
	if err != nil {
		t.Fatal(err)
	}
	cluster1 := "quartermaster-" + runHash("run-1")
	wantOut := []openreports.Written{{Namespace: nsA, Name: "quartermaster", Results: 3, Total: 3},
		{Namespace: nsB, Name: "quartermaster", Results: 2, Total: 2}, {Name: cluster1, Results: 1, Total: 1}}
	if !slices.Equal(out.Reports, wantOut) {
		t.Errorf("run 1 wrote %+v, want %+v", out.Reports, wantOut)
	}
	rep, smallSize := getReport(t, c, api, "Report", nsA, "quartermaster")
	if rep == nil {
		t.Fatal("no report in " + nsA)
	}
	var body openreports.Body
	if err := runtimeJSON(rep.Object, &body); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range body.Results {
		ids = append(ids, r.Properties["findingId"])
	}
	if !slices.Equal(ids, []string{"a-crit", "a-high", "a-med"}) || body.Summary != (openreports.Summary{Fail: 3}) || body.Source != "quartermaster" {
		t.Errorf("report %s: results %v, summary %+v, source %q; want a-crit, a-high, a-med, 3 failures, quartermaster", nsA, ids, body.Summary, body.Source)
	}
	if r := body.Results[1]; r.Properties["monthlyCost"] != "2400.00" || r.Resources[0] != (openreports.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: nsA, Name: "trainer-1"}) ||
		r.Timestamp.Seconds != start.Unix() || r.Result != "fail" || r.Severity != "high" || r.Policy != "quartermaster.audit.waste" || r.Rule != "idle-gpu" {
		t.Errorf("result a-high: %+v", r)
	}
	owners := rep.GetOwnerReferences()
	if len(owners) != 1 || owners[0].Kind != "ClusterReport" || owners[0].Name != cluster1 {
		t.Errorf("report %s owners %+v, want the run-1 cluster report %s", nsA, owners, cluster1)
	}
	// Written by apply, stored without managed fields (the writer drops
	// them), and with nothing of the run but its owner.
	if mf := rep.GetManagedFields(); len(mf) != 0 {
		t.Errorf("report %s managed fields %+v, want none", nsA, mf)
	}
	if a := rep.GetAnnotations(); len(a) != 0 || rep.GetLabels()[openreports.LabelManagedBy] != openreports.FieldManager || len(rep.GetLabels()) != 1 {
		t.Errorf("report %s annotations %v labels %v, want none and the managed-by label", nsA, a, rep.GetLabels())
	}
	t.Logf("report %s: %d results, %d bytes", nsA, len(body.Results), smallSize)
	if cr, _ := getReport(t, c, api, "ClusterReport", "", cluster1); cr == nil {
		t.Error("no cluster report for the node finding")
	} else if a := cr.GetAnnotations(); a[openreports.AnnotationRun] != "run-1" || a[openreports.AnnotationFullReport] != "s3://audit/report.json" || len(cr.GetManagedFields()) != 0 {
		t.Errorf("cluster report annotations %v, managed fields %d: want the run and the full report, no managed fields", a, len(cr.GetManagedFields()))
	}

	// Run 2: namespace B is clean and no node finding is left. Run 1's
	// cluster report goes, and the garbage collector takes B's report.
	out, err = w.Write(ctx, openreports.Run{ID: "run-2", Time: start.Add(24 * time.Hour)}, run1[:2])
	if err != nil {
		t.Fatal(err)
	}
	cluster2 := "quartermaster-" + runHash("run-2")
	wantOut = []openreports.Written{{Namespace: nsA, Name: "quartermaster", Results: 2, Total: 2}, {Name: cluster2}}
	if out.Retired != 1 || !slices.Equal(out.Reports, wantOut) {
		t.Errorf("run 2: %+v, want run 1's cluster report retired and %+v written", out, wantOut)
	}
	if cr, _ := getReport(t, c, api, "ClusterReport", "", cluster1); cr != nil {
		t.Errorf("run 1's cluster report %s is still there", cluster1)
	}
	eventually(t, 60*time.Second, "the garbage collector deleting the report of the clean namespace", func() error {
		if r, _ := getReport(t, c, api, "Report", nsB, "quartermaster"); r != nil {
			return fmt.Errorf("report %s still there", nsB)
		}
		return nil
	})
	rep, _ = getReport(t, c, api, "Report", nsA, "quartermaster")
	if rep == nil {
		t.Fatalf("the report of %s, which still has findings, was collected", nsA)
	}
	if o := rep.GetOwnerReferences(); len(o) != 1 || o[0].Name != cluster2 {
		t.Errorf("report %s owners after run 2: %+v, want only the run-2 cluster report", nsA, o)
	}
	if s, _, _ := unstructured.NestedInt64(rep.Object, "summary", "fail"); s != 2 {
		t.Errorf("report %s after run 2: %d failures, want 2", nsA, s)
	}
	// Run 3: 1,000 GPU pods' worth of findings, 100 pods in each of 10
	// namespaces, three findings each; and a namespace of 1,500 pods whose
	// report must be cut.
	var scale []audit.Finding
	var scaleNS []string
	for i := range 10 {
		ns := fmt.Sprintf("qm-orep-s%d", i)
		exemptNamespace(t, ns)
		scaleNS = append(scaleNS, ns)
		scale = append(scale, gpuPodFindings(ns, 100)...)
	}
	const big, one = "qm-orep-big", "qm-orep-one"
	exemptNamespace(t, big)
	scale = append(scale, gpuPodFindings(big, 1500)...)
	// The worst layout: one GPU pod per namespace, each report holding a
	// single pod's findings beside its fixed cost.
	exemptNamespace(t, one)
	scale = append(scale, gpuPodFindings(one, 1)...)
	began := time.Now()
	out, err = w.Write(ctx, openreports.Run{ID: "run-3", Time: start.Add(48 * time.Hour)}, scale)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if len(out.Reports) != 13 || out.Retired != 1 || out.Reports[0] != (openreports.Written{Namespace: big, Name: "quartermaster", Results: out.Reports[0].Results, Total: 4500, Cut: true}) {
		t.Errorf("run 3 wrote %+v (retired %d), want 12 namespace reports, %s cut, the cluster report, run 2 retired", out.Reports, out.Retired, big)
	}
	total, largest := 0, 0
	for _, ns := range scaleNS {
		r, size := getReport(t, c, api, "Report", ns, "quartermaster")
		if r == nil {
			t.Fatalf("no report in %s", ns)
		}
		results, _, _ := unstructured.NestedSlice(r.Object, "results")
		if len(results) != 300 {
			t.Errorf("report %s: %d results, want 300", ns, len(results))
		}
		total += size
		largest = max(largest, size)
	}
	bigRep, bigSize := getReport(t, c, api, "Report", big, "quartermaster")
	if bigRep == nil {
		t.Fatal("no report in " + big)
	}
	bigResults, _, _ := unstructured.NestedSlice(bigRep.Object, "results")
	fails, _, _ := unstructured.NestedInt64(bigRep.Object, "summary", "fail")
	ann := bigRep.GetAnnotations()
	if bigSize > openreports.DefaultMaxBytes || len(bigResults) > openreports.DefaultMaxResults || fails != 4500 ||
		ann[openreports.AnnotationTotal] != "4500" || ann[openreports.AnnotationFullReport] != "s3://audit/report.json" {
		t.Errorf("report %s: %d bytes, %d results, %d failures, annotations %v; want ≤ %d bytes, ≤ %d results, 4500, cut annotations",
			big, bigSize, len(bigResults), fails, ann, openreports.DefaultMaxBytes, openreports.DefaultMaxResults)
	}
	// 2 MB (decimal, the stricter reading) per 1,000 GPU pods, in the
	// dense layout and in the worst one.
	const perThousand = 2_000_000
	_, oneSize := getReport(t, c, api, "Report", one, "quartermaster")
	if largest > openreports.DefaultMaxBytes || total > perThousand || 1000*oneSize > perThousand {
		t.Errorf("1,000 GPU pods' findings: %d bytes in 10 namespaces, largest report %d bytes, %d bytes in 1,000 namespaces of one pod; want ≤ %d and ≤ 256 KiB",
			total, largest, 1000*oneSize, perThousand)
	}
	cr3, clusterSize := getReport(t, c, api, "ClusterReport", "", "quartermaster-"+runHash("run-3"))
	// The rules' remediations are on the run's cluster report, once each, and on no result.
	if a := cr3.GetAnnotations(); a[openreports.AnnotationRemediation+"idle-gpu"] != gpuFinding(one, "p", "idle-gpu", "waste", "high", 0).Remediation {
		t.Errorf("run 3's cluster report annotations %v: want each rule's remediation", a)
	}
	if oneRep, _ := getReport(t, c, api, "Report", one, "quartermaster"); strings.Contains(fmt.Sprint(oneRep.Object["results"]), "remediation") {
		t.Errorf("report %s repeats a remediation the cluster report holds: %v", one, oneRep.Object["results"])
	}
	t.Logf("run 3 written in %s: 1,000 GPU pods × 3 findings in 10 namespaces = %d bytes of reports (largest report %d bytes, %d per result); "+
		"1,500 pods in one namespace: report cut to %d of 4,500 results, %d bytes; worst layout, one GPU pod with 3 findings per namespace: "+
		"a %d-byte report, %d bytes per 1,000 pods (fixed cost ≈ %d bytes a report); the run's cluster report %d bytes",
		took.Round(time.Millisecond), total, largest, largest/300, len(bigResults), bigSize, oneSize, 1000*oneSize, oneSize-3*largest/300, clusterSize)
	eventually(t, 60*time.Second, "run 2's report collected after run 3", func() error {
		if r, _ := getReport(t, c, api, "Report", nsA, "quartermaster"); r != nil {
			return fmt.Errorf("report %s still there", nsA)
		}
		return nil
	})

	// The wgpolicyk8s.io/v1alpha2 option: PolicyReports, whose severities
	// (high, medium, low) the CRD's enum enforces.
	kubectl(t, "apply", "-f", filepath.Join("testdata", "wgpolicyk8s-crds.yaml")).must(t, "installing the PolicyReport CRDs")
	t.Cleanup(func() { kubectl(t, "delete", "-f", filepath.Join("testdata", "wgpolicyk8s-crds.yaml"), "--wait=false") })
	kubectl(t, "wait", "--for=condition=Established", "crd/policyreports.wgpolicyk8s.io", "crd/clusterpolicyreports.wgpolicyk8s.io", "--timeout=60s").must(t, "waiting for the CRDs")
	legacy, err := openreports.NewWriter(openreports.Config{Client: c, API: openreports.PolicyReport, Warnings: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := legacy.Write(ctx, openreports.Run{ID: "run-4", Time: start}, run1[:4]); err != nil {
		t.Fatal(err)
	}
	pr, _ := getReport(t, c, string(openreports.PolicyReport), "PolicyReport", nsA, "quartermaster")
	if pr == nil {
		t.Fatal("no PolicyReport")
	}
	if err := runtimeJSON(pr.Object, &body); err != nil {
		t.Fatal(err)
	}
	var sev []string
	for _, r := range body.Results {
		sev = append(sev, r.Severity+"/"+r.Result)
	}
	if !slices.Equal(sev, []string{"high/fail", "high/fail", "medium/fail", "low/warn"}) || body.Summary != (openreports.Summary{Fail: 3, Warn: 1}) {
		t.Errorf("PolicyReport results %v, summary %+v; want critical as high, info as a low warning", sev, body.Summary)
	}
}

// runtimeJSON decodes an unstructured object into a typed value.
func runtimeJSON(obj map[string]any, v any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
