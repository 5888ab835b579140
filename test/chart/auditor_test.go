//go:build e2e

package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
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
		"no accounts":      {[]string{"--set", "auditor.enabled=true"}, "auditor.accounts: the accounts file"},
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
	if n := notes(t); strings.Contains(n, "auditor") {
		t.Errorf("auditor off, but the notes mention it:\n%s", n)
	}
	if n := notes(t, withAuditor()...); !strings.Contains(n, "in an emptyDir that goes with the pod") || !strings.Contains(n, "kubectl logs -n qm-system job/qm-quartermaster-auditor-") {
		t.Errorf("notes without a claim:\n%s", n)
	}
	n := notes(t, withAuditor("--set", "auditor.shards=4", "--set", "auditor.reports.existingClaim=audits")...)
	if !strings.Contains(n, "4 shards") || !strings.Contains(n, "on claim audits, /reports/qm-quartermaster-auditor-<scheduled time>/merged/report.json") {
		t.Errorf("notes with 4 shards on a claim:\n%s", n)
	}
}
