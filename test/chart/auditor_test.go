//go:build e2e

package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/kube"
	"github.com/quartermaster-io/quartermaster/internal/report/openreports"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

const accountsCM = "ConfigMap/qm-quartermaster-auditor-accounts"

// testAccounts is an accounts file with one account of each kind.
const testAccounts = `{"accounts": [
  {"cloud": "kubernetes", "id": "in-cluster", "prometheus": "http://prometheus.monitoring:9090"},
  {"cloud": "aws", "id": "123456789012", "roleArn": "arn:aws:iam::123456789012:role/qm-auditor", "regions": ["us-east-1"]},
  {"cloud": "gcp", "id": "ml-training-prod"}],
  "discover": {"azureSubscriptions": true}, "limits": {"perAccount": 2}}`

// withAuditor enables the auditor with testAccounts, then args.
func withAuditor(args ...string) []string {
	return append([]string{"--set", "auditor.enabled=true", "--set-json", "auditor.accounts=" + testAccounts}, args...)
}

// auditorPod is the pod spec of the auditor's Job template.
func auditorPod(t *testing.T, r rendered) object {
	t.Helper()
	return at(r.get(t, cronJob), "spec", "jobTemplate", "spec", "template", "spec").(object)
}

// auditorArgs are the auditor container's arguments.
func auditorArgs(t *testing.T, r rendered) []string {
	t.Helper()
	var args []string
	for _, a := range at(auditorPod(t, r), "containers", "0", "args").([]any) {
		args = append(args, a.(string))
	}
	return args
}

// flagValue is the value of --name=VALUE in args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name {
			return "", true
		}
	}
	return "", false
}

// TestAuditorOneShard: with the default single shard the CronJob's Job is a
// plain one: the auditor scans every account of auditor.accounts with the
// webhook's configuration, writes into the run's own directory on an
// emptyDir, without a checkpoint (a retried pod gets a new emptyDir anyway),
// and fails without a retry on bad input or findings.
func TestAuditorOneShard(t *testing.T) {
	r := mustRender(t, withAuditor()...)
	job := at(r.get(t, cronJob), "spec", "jobTemplate", "spec")
	for _, field := range []string{"completionMode", "completions", "parallelism", "backoffLimitPerIndex"} {
		if at(job, field) != nil {
			t.Errorf("one shard, but the Job has %s %v", field, at(job, field))
		}
	}
	if at(job, "backoffLimit") != float64(1) {
		t.Errorf("backoffLimit %v, want 1", at(job, "backoffLimit"))
	}
	rule := at(job, "podFailurePolicy", "rules", "0")
	if str(rule, "action") != "FailJob" || !slices.Equal(at(rule, "onExitCodes", "values").([]any), []any{float64(1), float64(2)}) {
		t.Errorf("podFailurePolicy %v: want FailJob on exit codes 1 and 2", at(job, "podFailurePolicy"))
	}
	args := auditorArgs(t, r)
	want := map[string]string{
		"accounts": "/etc/quartermaster/auditor/accounts.yaml", "quota": "/etc/quartermaster/config/quotas.yaml",
		"label-profile": "quartermaster", "provisionable-filter": "auto", "gpu-window": "24h", "out": "/reports/$(JOB_NAME)",
	}
	for name, v := range want {
		if got, ok := flagValue(args, name); !ok || got != v {
			t.Errorf("--%s=%q, want %q (args %v)", name, got, v, args)
		}
	}
	for _, name := range []string{"shard", "merge-into", "merge-wait", "indexed-job", "checkpoint", "fail-on", "catalog", "policies", "workload-rules"} {
		if _, ok := flagValue(args, name); ok {
			t.Errorf("--%s given by default: %v", name, args)
		}
	}
	pod := auditorPod(t, r)
	env := at(pod, "containers", "0", "env", "0")
	if str(env, "name") != "JOB_NAME" || str(env, "valueFrom", "fieldRef", "fieldPath") != "metadata.labels['batch.kubernetes.io/job-name']" {
		t.Errorf("JOB_NAME not from the downward API: %v", env)
	}
	if at(volume(pod, "reports"), "emptyDir", "sizeLimit") != "1Gi" || at(pod, "securityContext") != nil {
		t.Errorf("reports volume %v, pod securityContext %v: want an emptyDir and no fsGroup", volume(pod, "reports"), at(pod, "securityContext"))
	}
	// The root filesystem is read-only: the scan's spool needs /tmp.
	mounts := map[string]string{}
	for _, m := range at(pod, "containers", "0", "volumeMounts").([]any) {
		mounts[str(m, "name")] = str(m, "mountPath")
	}
	if mounts["reports"] != "/reports" || mounts["tmp"] != "/tmp" || mounts["accounts"] != "/etc/quartermaster/auditor" || mounts["config"] != "/etc/quartermaster/config" {
		t.Errorf("auditor mounts %v", mounts)
	}
	if at(volume(pod, "tmp"), "emptyDir") == nil {
		t.Error("/tmp is not an emptyDir")
	}

	// failOn and gpuWindow reach their flags.
	args = auditorArgs(t, mustRender(t, withAuditor("--set", "auditor.failOn=high", "--set", "auditor.gpuWindow=6h")...))
	if v, _ := flagValue(args, "fail-on"); v != "high" {
		t.Errorf("auditor.failOn: args %v", args)
	}
	if v, _ := flagValue(args, "gpu-window"); v != "6h" {
		t.Errorf("auditor.gpuWindow: args %v", args)
	}
	// The shared configuration reaches the auditor as it reaches the webhook.
	shared := withAuditor("--set-string", "catalog=cloud\\,region", "--set-string", "policies.residency\\.rego=package quartermaster.residency",
		"--set", "workloadRules[0].group=example.com", "--set", "workloadRules[0].kind=Trainer", "--set", "workloadRules[0].resource=trainers",
		"--set", "workloadRules[0].podSets[0].template=spec.template", "--set", "labelProfile=karpenter", "--set", "labelKeys.clusterCloud=azure",
		"--set", "provisionableFilter=off")
	r = mustRender(t, shared...)
	args = auditorArgs(t, r)
	for _, a := range webhookArgs(t, r) {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if slices.Contains([]string{"quota", "catalog", "policies", "workload-rules", "label-profile", "label-key", "provisionable-filter"}, name) && !slices.Contains(args, a) {
			t.Errorf("the webhook has %s, the auditor not: %v", a, args)
		}
	}
	if !slices.ContainsFunc(at(auditorPod(t, r), "volumes").([]any), func(v any) bool { return str(v, "name") == "policies" }) {
		t.Error("policies not mounted into the auditor")
	}
}

// TestAuditorShards: with auditor.shards the Job is an Indexed Job, one pod
// per shard at once, each retried on its own; every pod audits the shard of
// its completion index into the run's directory on the claim, with a
// checkpoint there; all get the merge flags with --indexed-job, so that
// shard 0 merges into a directory beside the shards' (the auditor reads
// shard-k beside --out).
func TestAuditorShards(t *testing.T) {
	r := mustRender(t, withAuditor("--set", "auditor.shards=4", "--set", "auditor.reports.existingClaim=audits", "--set", "auditor.mergeWait=40m")...)
	job := at(r.get(t, cronJob), "spec", "jobTemplate", "spec")
	if str(job, "completionMode") != "Indexed" || at(job, "completions") != float64(4) || at(job, "parallelism") != float64(4) {
		t.Errorf("not an Indexed Job of 4: %v", job)
	}
	if at(job, "backoffLimitPerIndex") != float64(1) || at(job, "backoffLimit") != nil {
		t.Errorf("backoffLimitPerIndex %v backoffLimit %v: want each index retried once on its own", at(job, "backoffLimitPerIndex"), at(job, "backoffLimit"))
	}
	if str(job, "podFailurePolicy", "rules", "0", "action") != "FailIndex" {
		t.Errorf("podFailurePolicy %v: want FailIndex", at(job, "podFailurePolicy"))
	}
	args := auditorArgs(t, r)
	want := map[string]string{
		"shard":       "$(JOB_COMPLETION_INDEX)/4",
		"out":         "/reports/$(JOB_NAME)/shard-$(JOB_COMPLETION_INDEX)",
		"checkpoint":  "/reports/$(JOB_NAME)/shard-$(JOB_COMPLETION_INDEX)/checkpoint",
		"merge-into":  "/reports/$(JOB_NAME)/merged",
		"merge-wait":  "40m",
		"indexed-job": "",
	}
	for name, v := range want {
		if got, ok := flagValue(args, name); !ok || got != v {
			t.Errorf("--%s=%q, want %q (args %v)", name, got, v, args)
		}
	}
	out, _ := flagValue(args, "out")
	merged, _ := flagValue(args, "merge-into")
	if path.Dir(out) != path.Dir(merged) || path.Base(out) != "shard-$(JOB_COMPLETION_INDEX)" {
		t.Errorf("--out %s and --merge-into %s: shard 0 looks for shard-k beside its --out", out, merged)
	}
	pod := auditorPod(t, r)
	if str(volume(pod, "reports"), "persistentVolumeClaim", "claimName") != "audits" || at(pod, "securityContext", "fsGroup") != float64(65532) {
		t.Errorf("reports volume %v, securityContext %v: want the claim, writable by the auditor", volume(pod, "reports"), at(pod, "securityContext"))
	}
	// One shard with a claim: the run's checkpoint is on it.
	args = auditorArgs(t, mustRender(t, withAuditor("--set", "auditor.reports.existingClaim=audits")...))
	if v, _ := flagValue(args, "checkpoint"); v != "/reports/$(JOB_NAME)/checkpoint" {
		t.Errorf("one shard with a claim: args %v", args)
	}
}

// TestAuditorAccounts: auditor.accounts is the accounts file the auditor
// reads, mounted where --accounts points; without it, or sharded without a
// shared volume, the chart refuses to render rather than install an audit
// that cannot work.
func TestAuditorAccounts(t *testing.T) {
	r := mustRender(t, withAuditor()...)
	f, err := inventory.ReadAccounts(strings.NewReader(str(r.get(t, accountsCM), "data", "accounts.yaml")))
	if err != nil {
		t.Fatalf("the rendered accounts file does not parse as the auditor's: %v", err)
	}
	if len(f.Accounts) != 3 || f.Accounts[1].ID != "123456789012" || f.Accounts[1].RoleARN == "" || !f.Discover.AzureSubscriptions || f.Limits.PerAccount != 2 {
		t.Errorf("accounts %+v", f)
	}
	vol := volume(auditorPod(t, r), "accounts")
	if str(vol, "configMap", "name") != strings.TrimPrefix(accountsCM, "ConfigMap/") {
		t.Errorf("accounts volume %v", vol)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no accounts":      {[]string{"--set", "auditor.accounts=null"}, "auditor.accounts: the accounts file"},
		"sharded no claim": {withAuditor("--set", "auditor.shards=3"), "auditor.shards=3 needs auditor.reports.existingClaim"},
		"no shards":        {withAuditor("--set", "auditor.shards=0"), "shards"},
		"bad failOn":       {withAuditor("--set", "auditor.failOn=urgent"), "failOn"},
		"bad mergeWait":    {withAuditor("--set", "auditor.mergeWait=an hour"), "mergeWait"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestAuditorCredentials: env, envFrom, the ServiceAccount's annotations
// (workload identity of each cloud) and the pods' labels (Azure's) all reach
// the auditor.
func TestAuditorCredentials(t *testing.T) {
	r := mustRender(t, withAuditor(
		"--set", "auditor.env[0].name=AWS_REGION", "--set", "auditor.env[0].value=eu-west-1",
		"--set", "auditor.envFrom[0].secretRef.name=qm-auditor-keys",
		"--set", "auditor.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/qm-auditor",
		"--set", "auditor.serviceAccount.annotations.iam\\.gke\\.io/gcp-service-account=qm-auditor@ml.iam.gserviceaccount.com",
		"--set", "auditor.serviceAccount.annotations.azure\\.workload\\.identity/client-id=00000000-0000-0000-0000-000000000001",
		"--set-string", "auditor.podLabels.azure\\.workload\\.identity/use=true")...)
	c := at(auditorPod(t, r), "containers", "0")
	if str(c, "env", "1", "name") != "AWS_REGION" || str(c, "env", "1", "value") != "eu-west-1" || str(c, "env", "0", "name") != "JOB_NAME" {
		t.Errorf("env %v", at(c, "env"))
	}
	if str(c, "envFrom", "0", "secretRef", "name") != "qm-auditor-keys" {
		t.Errorf("envFrom %v", at(c, "envFrom"))
	}
	sa := at(r.get(t, "ServiceAccount/qm-quartermaster-auditor"), "metadata", "annotations")
	for k, v := range map[string]string{
		"eks.amazonaws.com/role-arn":        "arn:aws:iam::123456789012:role/qm-auditor",
		"iam.gke.io/gcp-service-account":    "qm-auditor@ml.iam.gserviceaccount.com",
		"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001",
	} {
		if str(sa, k) != v {
			t.Errorf("ServiceAccount annotation %s = %q, want %q", k, str(sa, k), v)
		}
	}
	if labels := at(r.get(t, cronJob), "spec", "jobTemplate", "spec", "template", "metadata", "labels"); str(labels, "azure.workload.identity/use") != "true" {
		t.Errorf("pod labels %v", labels)
	}
	// None of it by default.
	r = mustRender(t, withAuditor()...)
	if c := at(auditorPod(t, r), "containers", "0"); len(at(c, "env").([]any)) != 1 || at(c, "envFrom") != nil {
		t.Errorf("default env %v envFrom %v", at(c, "env"), at(c, "envFrom"))
	}
	if at(r.get(t, "ServiceAccount/qm-quartermaster-auditor"), "metadata", "annotations") != nil {
		t.Error("default ServiceAccount has annotations")
	}
}

var auditorFlags = sync.OnceValues(func() (map[string]bool, error) {
	dir, err := os.MkdirTemp("", "qm-chart-auditor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "auditor")
	build := exec.Command("go", "build", "-o", bin, "./cmd/auditor")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, &helmError{err: err, stderr: string(out)}
	}
	var help bytes.Buffer
	cmd := exec.Command(bin, "--help")
	cmd.Stdout = &help
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	return flags, nil
})

// TestAuditorFlagsExist: every flag the chart gives the auditor, in every
// combination of values that adds flags, is one the real binary has (its
// --help): a renamed or removed flag breaks this test, not the nightly run.
func TestAuditorFlagsExist(t *testing.T) {
	flags, err := auditorFlags()
	if err != nil {
		t.Fatalf("building cmd/auditor for its --help: %v", err)
	}
	if !flags["accounts"] || !flags["shard"] || len(flags) < 15 {
		t.Fatalf("--help parsed to %v", flags)
	}
	for name, args := range map[string][]string{
		"one shard": withAuditor("--set-string", "catalog=cloud\\,region", "--set-string", "policies.residency\\.rego=package quartermaster.residency",
			"--set", "workloadRules[0].group=example.com", "--set", "workloadRules[0].kind=Trainer", "--set", "workloadRules[0].resource=trainers",
			"--set", "workloadRules[0].podSets[0].template=spec.template", "--set", "labelKeys.clusterCloud=azure",
			"--set", "auditor.failOn=critical", "--set", "auditor.reports.existingClaim=audits"),
		"shards": withAuditor("--set", "auditor.shards=4", "--set", "auditor.reports.existingClaim=audits", "--set", "auditor.failOn=critical"),
	} {
		args := auditorArgs(t, mustRender(t, args...))
		for _, a := range args {
			flag, ok := strings.CutPrefix(a, "--")
			if !ok {
				t.Errorf("%s: argument %q is not a flag", name, a)
				continue
			}
			flag, _, _ = strings.Cut(flag, "=")
			if !flags[flag] {
				t.Errorf("%s: the chart passes --%s, which cmd/auditor does not have", name, flag)
			}
		}
	}
}

// notes renders NOTES.txt, which helm template leaves out: a copy of the
// chart gets a manifest carrying it as a string.
func notes(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "quartermaster")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "charts", "quartermaster"))); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tpl := `{{- define "test.notes" }}` + string(raw) + `{{- end }}`
	if err := os.WriteFile(filepath.Join(dir, "templates", "_test_notes.tpl"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: test-notes}\ndata: {notes: {{ include \"test.notes\" . | toJson }}}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "test-notes.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helmBin(t), append([]string{"template", "qm", dir, "--namespace", "qm-system", "--kube-version", "1.37.2"}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		if strings.Contains(doc, "name: test-notes") {
			var o object
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatal(err)
			}
			return str(o, "data", "notes")
		}
	}
	t.Fatal("no notes rendered")
	return ""
}

// TestAuditorNotes: the install notes say where the reports are.
func TestAuditorNotes(t *testing.T) {
	if n := notes(t, "--set", "auditor.enabled=false"); strings.Contains(n, "auditor") {
		t.Errorf("auditor off, but the notes mention it:\n%s", n)
	}
	if n := notes(t); !strings.Contains(n, "kubectl get reports.openreports.io -A") || !strings.Contains(n, "--from=cronjob/qm-quartermaster-auditor") {
		t.Errorf("default notes do not say where the reports are nor how to run an audit now:\n%s", n)
	}
	if n := notes(t, "--set", "auditor.openReports.api=wgpolicyk8s"); !strings.Contains(n, "kubectl get policyreports.wgpolicyk8s.io -A") {
		t.Errorf("notes with wgpolicyk8s:\n%s", n)
	}
	if n := notes(t, withAuditor()...); !strings.Contains(n, "in an emptyDir that goes with the pod") || !strings.Contains(n, "kubectl logs -n qm-system job/qm-quartermaster-auditor-") {
		t.Errorf("notes without a claim:\n%s", n)
	}
	n := notes(t, withAuditor("--set", "auditor.shards=4", "--set", "auditor.reports.existingClaim=audits")...)
	if !strings.Contains(n, "4 shards") || !strings.Contains(n, "on claim audits, /reports/qm-quartermaster-auditor-<scheduled time>/merged/report.json") {
		t.Errorf("notes with 4 shards on a claim:\n%s", n)
	}
}

// anyKind is a REST mapper under which the cluster serves every kind, as
// v1 of its group with the conventional plural: the scanner then lists
// every kind it ever would (a cluster with all the CRDs it knows), so
// that the recorded calls are the most the auditor can make.
type anyKind struct{ meta.RESTMapper }

func (anyKind) RESTMapping(gk schema.GroupKind, _ ...string) (*meta.RESTMapping, error) {
	gvk := gk.WithVersion("v1")
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return &meta.RESTMapping{Resource: plural, GroupVersionKind: gvk, Scope: meta.RESTScopeNamespace}, nil
}

func (m anyKind) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	r, err := m.RESTMapping(gk, versions...)
	return []*meta.RESTMapping{r}, err
}

// access is what a client was asked to do: "group/resource" → verbs.
type access map[string]map[string]bool

func (a access) add(gvk schema.GroupVersionKind, verbs ...string) {
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	r, _ := anyKind{}.RESTMapping(gvk.GroupKind())
	key := gvk.Group + "/" + r.Resource.Resource
	if a[key] == nil {
		a[key] = map[string]bool{}
	}
	for _, v := range verbs {
		a[key][v] = true
	}
}

func (a access) String() string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		lines = append(lines, k+" "+fmt.Sprint(slices.Sorted(maps.Keys(a[k]))))
	}
	return strings.Join(lines, "\n")
}

// recordingClient answers every call with nothing (empty lists, one
// earlier run's cluster report to retire) and records what was asked.
func recordingClient(t *testing.T, seen access) client.Client {
	gvkOf := func(c client.WithWatch, o runtime.Object) schema.GroupVersionKind {
		gvk, err := apiutil.GVKForObject(o, c.Scheme())
		if err != nil {
			t.Fatalf("the kind of %T: %v", o, err)
		}
		return gvk
	}
	base := fake.NewClientBuilder().WithRESTMapper(anyKind{}).Build()
	return interceptor.NewClient(base, interceptor.Funcs{
		List: func(_ context.Context, c client.WithWatch, list client.ObjectList, _ ...client.ListOption) error {
			gvk := gvkOf(c, list)
			seen.add(gvk, "list")
			if l, ok := list.(*metav1.PartialObjectMetadataList); ok && strings.HasSuffix(gvk.Kind, "ReportList") {
				l.Items = []metav1.PartialObjectMetadata{{ObjectMeta: metav1.ObjectMeta{Name: "quartermaster-earlier"}}}
			}
			return nil
		},
		Get: func(_ context.Context, c client.WithWatch, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
			seen.add(gvkOf(c, obj), "get")
			obj.SetUID("0e7c1d5e-0000-4000-8000-000000000001")
			return nil
		},
		Delete: func(_ context.Context, c client.WithWatch, obj client.Object, _ ...client.DeleteOption) error {
			seen.add(gvkOf(c, obj), "delete")
			return nil
		},
		// Server-side apply is a patch, authorized as a create when it
		// creates the object (a namespace's first report, every run's
		// cluster report).
		Apply: func(_ context.Context, _ client.WithWatch, obj runtime.ApplyConfiguration, _ ...client.ApplyOption) error {
			raw, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			var tm metav1.TypeMeta
			if err := json.Unmarshal(raw, &tm); err != nil {
				t.Fatal(err)
			}
			seen.add(tm.GroupVersionKind(), "create", "patch")
			return nil
		},
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			t.Error("the auditor creates an object other than by apply: give it a verb in rbac.yaml and a case here")
			return nil
		},
		Update: func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
			t.Error("the auditor updates an object: give it a verb in rbac.yaml and a case here")
			return nil
		},
		// The writer's merge patch that drops the managed fields.
		Patch: func(_ context.Context, c client.WithWatch, obj client.Object, _ client.Patch, _ ...client.PatchOption) error {
			seen.add(gvkOf(c, obj), "patch")
			return nil
		},
	})
}

// granted is what a rendered ClusterRole allows, as access.
func granted(role object) access {
	a := access{}
	for _, rule := range at(role, "rules").([]any) {
		for _, g := range at(rule, "apiGroups").([]any) {
			for _, r := range at(rule, "resources").([]any) {
				key := g.(string) + "/" + r.(string)
				if a[key] == nil {
					a[key] = map[string]bool{}
				}
				for _, v := range at(rule, "verbs").([]any) {
					a[key][v.(string)] = true
				}
			}
		}
	}
	return a
}

// TestAuditorRole: the auditor's ClusterRole is exactly what the auditor
// uses. The kube scanner (with the chart's workload rules, as the auditor
// reads them from its ConfigMap) scans a cluster that serves every kind,
// and the report writer writes a run, both through a client that records
// each call; the role must grant each call and nothing else.
func TestAuditorRole(t *testing.T) {
	trainer := []string{"--set", "workloadRules[0].group=example.com", "--set", "workloadRules[0].kind=Trainer", "--set", "workloadRules[0].resource=trainers",
		"--set", "workloadRules[0].podSets[0].template=spec.template"}
	for name, tc := range map[string]struct {
		args []string
		api  openreports.API // "" when reports are off
	}{
		"default":           {nil, openreports.OpenReports},
		"wgpolicyk8s":       {[]string{"--set", "auditor.openReports.api=wgpolicyk8s"}, openreports.PolicyReport},
		"no reports":        {[]string{"--set", "auditor.openReports.enabled=false"}, ""},
		"a workload of CRD": {trainer, openreports.OpenReports},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.args...)
			var extra []workload.Rule
			if rules := str(r.get(t, "ConfigMap/qm-quartermaster-config"), "data", "workload-rules.yaml"); rules != "" {
				var err error
				if extra, err = workload.ReadRules(strings.NewReader(rules)); err != nil {
					t.Fatalf("the rendered workload rules: %v", err)
				}
			}
			seen := access{}
			c := recordingClient(t, seen)
			s, err := kube.NewScanner(kube.Config{Rules: workload.WithDefaultRules(extra),
				NewClient: func(context.Context, inventory.Account) (client.Client, error) { return c, nil }})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "in-cluster"},
				func(*inventory.Resource) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if tc.api != "" {
				w, err := openreports.NewWriter(openreports.Config{Client: c, API: tc.api})
				if err != nil {
					t.Fatal(err)
				}
				fs := []audit.Finding{
					{ID: "1", Category: "waste", Severity: "high", Code: "idle-gpu", Resource: "Pod ml/p", Namespace: "ml", Policy: "p", Message: "m"},
					{ID: "2", Category: "waste", Severity: "high", Code: "idle-gpu", Resource: "Node n", Policy: "p", Message: "m"},
				}
				if _, err := w.Write(context.Background(), openreports.Run{ID: "run", Time: time.Now()}, fs); err != nil {
					t.Fatal(err)
				}
			}
			if got := granted(r.get(t, "ClusterRole/qm-quartermaster-auditor")); got.String() != seen.String() {
				t.Errorf("the auditor's ClusterRole grants\n%s\n\nthe auditor uses\n%s", got, seen)
			}
			if !seen["/pods"]["list"] || seen["example.com/trainers"]["list"] != (name == "a workload of CRD") {
				t.Errorf("the recording missed the pods or the workload rule's kind:\n%s", seen)
			}
		})
	}
}
