//go:build e2e

package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

type object = map[string]any

// rendered is the output of one helm template run, by "Kind/name".
type rendered map[string]object

func helmBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("QM_TOOLS_BIN")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "bin")
	}
	bin := filepath.Join(dir, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm missing at %s: run `make tools-cluster` (or `make e2e`)", bin)
	}
	return bin
}

// helmTemplate renders the chart as release "qm" in namespace "qm-system".
func helmTemplate(t *testing.T, args ...string) (rendered, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), append([]string{"template", "qm", filepath.Join("..", "..", "charts", "quartermaster"),
		"--namespace", "qm-system", "--kube-version", "1.37.2"}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, &helmError{err: err, stderr: errOut.String()}
	}
	objs := rendered{}
	for _, doc := range strings.Split(out.String(), "\n---\n") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if o == nil {
			continue
		}
		key := str(o, "kind") + "/" + str(o, "metadata", "name")
		if _, dup := objs[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		objs[key] = o
	}
	return objs, nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + e.stderr }

func mustRender(t *testing.T, args ...string) rendered {
	t.Helper()
	objs, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return objs
}

// at walks maps by key and lists by index ("0").
func at(v any, path ...string) any {
	for _, p := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			i := 0
			for _, r := range p {
				i = i*10 + int(r-'0')
			}
			if i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string { s, _ := at(v, path...).(string); return s }

func (r rendered) get(t *testing.T, key string) object {
	t.Helper()
	o, ok := r[key]
	if !ok {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Fatalf("%s not rendered; rendered: %v", key, keys)
	}
	return o
}

func (r rendered) has(key string) bool { _, ok := r[key]; return ok }

const (
	mutating   = "MutatingWebhookConfiguration/qm-quartermaster"
	validating = "ValidatingWebhookConfiguration/qm-quartermaster"
	deployment = "Deployment/qm-quartermaster-webhook"
	secret     = "Secret/qm-quartermaster-webhook-tls"
	cronJob    = "CronJob/qm-quartermaster-auditor"
)

func TestDefaults(t *testing.T) {
	r := mustRender(t)
	d := r.get(t, deployment)
	if at(d, "spec", "replicas") != float64(2) {
		t.Errorf("replicas = %v, want 2", at(d, "spec", "replicas"))
	}
	pod := at(d, "spec", "template", "spec")
	if at(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution") == nil {
		t.Error("no soft pod anti-affinity")
	}
	c := at(pod, "containers", "0")
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		if str(c, probe, "httpGet", "scheme") != "HTTPS" {
			t.Errorf("%s is not an HTTPS probe", probe)
		}
	}
	if at(c, "resources", "requests", "cpu") == nil || at(c, "resources", "limits", "memory") == nil {
		t.Error("webhook resources missing")
	}
	if at(r.get(t, "PodDisruptionBudget/qm-quartermaster-webhook"), "spec", "minAvailable") != float64(1) {
		t.Error("PDB minAvailable is not 1")
	}
	r.get(t, "Service/qm-quartermaster-webhook")
	ca := str(r.get(t, secret), "data", "ca.crt")
	if ca == "" || str(r.get(t, secret), "data", "tls.key") == "" {
		t.Fatal("generated TLS secret is empty")
	}
	for _, key := range []string{mutating, validating} {
		w := at(r.get(t, key), "webhooks", "0")
		if str(w, "clientConfig", "service", "name") != "qm-quartermaster-webhook" || str(w, "clientConfig", "caBundle") != ca {
			t.Errorf("%s: not pointed at the Service with the generated CA", key)
		}
		if str(w, "failurePolicy") != "Fail" || at(w, "timeoutSeconds") != float64(5) || str(w, "sideEffects") != "None" {
			t.Errorf("%s: failurePolicy %v timeoutSeconds %v sideEffects %v", key, at(w, "failurePolicy"), at(w, "timeoutSeconds"), at(w, "sideEffects"))
		}
		expr := str(w, "matchConditions", "0", "expression")
		for _, want := range []string{"nvidia.com/", "amd.com/gpu", "object.spec.template.spec", "jobTemplate", "pytorchReplicaSpecs", "workerGroupSpecs", "initContainers"} {
			if !strings.Contains(expr, want) {
				t.Errorf("%s: GPU matchCondition does not mention %s", key, want)
			}
		}
		excluded := at(w, "namespaceSelector", "matchExpressions", "0", "values").([]any)
		if !slices.Contains(excluded, any("kube-system")) || !slices.Contains(excluded, any("qm-system")) {
			t.Errorf("%s: excluded namespaces %v, want kube-system and the release namespace", key, excluded)
		}
	}
	if str(r.get(t, mutating), "webhooks", "0", "reinvocationPolicy") != "IfNeeded" {
		t.Error("mutating webhook reinvocationPolicy is not IfNeeded")
	}
	if at(r.get(t, validating), "webhooks", "0", "reinvocationPolicy") != nil {
		t.Error("validating webhook has a reinvocationPolicy")
	}
	// The auditor is on: a fresh install audits its own cluster through
	// its ServiceAccount (no cloud credentials needed) and writes the
	// findings into it as OpenReports.
	for _, key := range []string{cronJob, accountsCM, "ClusterRole/qm-quartermaster-auditor", "ClusterRoleBinding/qm-quartermaster-auditor", "ServiceAccount/qm-quartermaster-auditor"} {
		r.get(t, key)
	}
	if got := str(r.get(t, accountsCM), "data", "accounts.yaml"); strings.TrimSpace(got) != "accounts:\n- cloud: kubernetes\n  id: in-cluster" {
		t.Errorf("default accounts file %q, want the in-cluster account alone", got)
	}
	args := fmt.Sprint(at(r.get(t, cronJob), "spec", "jobTemplate", "spec", "template", "spec", "containers", "0", "args"))
	for _, a := range []string{"--accounts=/etc/quartermaster/auditor/accounts.yaml", "--openreports=in-cluster", "--openreports-api=openreports"} {
		if !strings.Contains(args, a) {
			t.Errorf("default auditor args %s lack %s", args, a)
		}
	}
	if at(r.get(t, cronJob), "spec", "jobTemplate", "spec", "template", "spec", "hostNetwork") != nil {
		t.Error("the auditor shares its node's network by default")
	}
	// Off, none of it.
	off := mustRender(t, "--set", "auditor.enabled=false")
	for _, key := range []string{cronJob, accountsCM, "ClusterRole/qm-quartermaster-auditor", "ClusterRoleBinding/qm-quartermaster-auditor", "ServiceAccount/qm-quartermaster-auditor"} {
		if off.has(key) {
			t.Errorf("%s rendered although the auditor is off", key)
		}
	}
	if r.has("ConfigMap/qm-quartermaster-policies") {
		t.Error("a policies ConfigMap without policies")
	}
}

// TestLeastPrivilege: every ClusterRole only reads, except the auditor's
// reports, and nothing uses wildcards (the default install, auditor on;
// TestAuditorRole checks the auditor's rules one by one).
func TestLeastPrivilege(t *testing.T) {
	r := mustRender(t)
	roles := 0
	for key, o := range r {
		if !strings.HasPrefix(key, "ClusterRole/") && !strings.HasPrefix(key, "Role/") {
			continue
		}
		roles++
		for _, rule := range at(o, "rules").([]any) {
			groups, resources, verbs := at(rule, "apiGroups").([]any), at(rule, "resources").([]any), at(rule, "verbs").([]any)
			if slices.Contains(groups, any("*")) || slices.Contains(resources, any("*")) || slices.Contains(verbs, any("*")) {
				t.Errorf("%s: wildcard in %v", key, rule)
			}
			writes := slices.ContainsFunc(verbs, func(v any) bool { return !slices.Contains([]any{"get", "list", "watch"}, v) })
			if writes && !(key == "ClusterRole/qm-quartermaster-auditor" && slices.Equal(groups, []any{"openreports.io"})) {
				t.Errorf("%s: write access %v", key, rule)
			}
			if slices.Contains(resources, any("secrets")) {
				t.Errorf("%s: reads secrets", key)
			}
		}
	}
	if roles != 2 {
		t.Errorf("%d roles, want one per component (2)", roles)
	}
	for _, sa := range []string{"qm-quartermaster-webhook", "qm-quartermaster-auditor"} {
		r.get(t, "ServiceAccount/"+sa)
		if str(r.get(t, "ClusterRoleBinding/"+sa), "subjects", "0", "name") != sa {
			t.Errorf("binding %s is not for its own service account", sa)
		}
	}
}

func TestExternalURL(t *testing.T) {
	r := mustRender(t, "--set", "webhook.inCluster=false", "--set", "webhook.externalURL=https://127.0.0.1:16453/",
		"--set", "webhook.externalCABundle=Q0EK", "--set", "webhook.failurePolicy=Ignore", "--set", "webhook.timeoutSeconds=2")
	for _, gone := range []string{deployment, secret, "Service/qm-quartermaster-webhook", "PodDisruptionBudget/qm-quartermaster-webhook",
		"ClusterRole/qm-quartermaster-webhook", "ServiceAccount/qm-quartermaster-webhook"} {
		if r.has(gone) {
			t.Errorf("%s rendered although the webhook runs outside the cluster", gone)
		}
	}
	for key, path := range map[string]string{mutating: "/mutate", validating: "/validate"} {
		w := at(r.get(t, key), "webhooks", "0")
		if str(w, "clientConfig", "url") != "https://127.0.0.1:16453"+path || str(w, "clientConfig", "caBundle") != "Q0EK" {
			t.Errorf("%s: clientConfig %v", key, at(w, "clientConfig"))
		}
		if at(w, "clientConfig", "service") != nil {
			t.Errorf("%s: both url and service", key)
		}
		if str(w, "failurePolicy") != "Ignore" || at(w, "timeoutSeconds") != float64(2) {
			t.Errorf("%s: failurePolicy %v timeoutSeconds %v", key, at(w, "failurePolicy"), at(w, "timeoutSeconds"))
		}
	}
	// In-cluster Deployment kept (default inCluster) beside an external URL: it still gets its certificate.
	r = mustRender(t, "--set", "webhook.externalURL=https://127.0.0.1:16453", "--set", "webhook.externalCABundle=Q0EK")
	if !r.has(deployment) || !r.has(secret) || str(r.get(t, mutating), "webhooks", "0", "clientConfig", "caBundle") != "Q0EK" {
		t.Error("external URL with an in-cluster Deployment: want Deployment, its Secret and the external CA in the configurations")
	}
}

func TestCertManager(t *testing.T) {
	r := mustRender(t, "--set", "tls.certManager.enabled=true")
	if r.has(secret) {
		t.Error("the chart generated a Secret although cert-manager issues it")
	}
	cert := r.get(t, "Certificate/qm-quartermaster-webhook")
	if str(cert, "spec", "secretName") != "qm-quartermaster-webhook-tls" || str(cert, "spec", "issuerRef", "name") != "qm-quartermaster-webhook-selfsigned" {
		t.Errorf("certificate spec %v", at(cert, "spec"))
	}
	r.get(t, "Issuer/qm-quartermaster-webhook-selfsigned")
	for _, key := range []string{mutating, validating} {
		o := r.get(t, key)
		if str(o, "metadata", "annotations", "cert-manager.io/inject-ca-from") != "qm-system/qm-quartermaster-webhook" {
			t.Errorf("%s: no CA injection annotation", key)
		}
		if at(o, "webhooks", "0", "clientConfig", "caBundle") != nil {
			t.Errorf("%s: caBundle set although cert-manager injects it", key)
		}
	}
	r = mustRender(t, "--set", "tls.certManager.enabled=true", "--set", "tls.certManager.issuerRef.name=corp-ca",
		"--set", "tls.certManager.issuerRef.kind=ClusterIssuer")
	if r.has("Issuer/qm-quartermaster-webhook-selfsigned") || str(r.get(t, "Certificate/qm-quartermaster-webhook"), "spec", "issuerRef", "name") != "corp-ca" {
		t.Error("an issuerRef must replace the chart's self-signed Issuer")
	}
}

func TestConfiguration(t *testing.T) {
	r := mustRender(t, withAuditor("--set", "auditor.schedule=0 4 * * 1", "--set-string", "policies.residency\\.rego=package quartermaster.residency",
		"--set-string", "catalog=cloud\\,region", "--set", "webhook.excludeNamespaces={monitoring}",
		"--set", "quotas[0].cloud=aws", "--set", "quotas[0].region=us-east-1", "--set", "quotas[0].gpuModel=H100", "--set", "quotas[0].gpus=64")...)
	if str(r.get(t, cronJob), "spec", "schedule") != "0 4 * * 1" {
		t.Error("auditor schedule not applied")
	}
	if !strings.Contains(str(r.get(t, "ConfigMap/qm-quartermaster-policies"), "data", "residency.rego"), "package quartermaster.residency") {
		t.Error("policy not in the policies ConfigMap")
	}
	cfg := r.get(t, "ConfigMap/qm-quartermaster-config")
	if strings.TrimSpace(str(cfg, "data", "catalog.csv")) != "cloud,region" || !strings.Contains(str(cfg, "data", "quotas.yaml"), "gpus: 64") {
		t.Errorf("config ConfigMap data %v", at(cfg, "data"))
	}
	mounts := at(r.get(t, deployment), "spec", "template", "spec", "containers", "0", "volumeMounts").([]any)
	if !slices.ContainsFunc(mounts, func(m any) bool { return str(m, "name") == "policies" }) {
		t.Error("policies not mounted into the webhook")
	}
	excluded := at(r.get(t, mutating), "webhooks", "0", "namespaceSelector", "matchExpressions", "0", "values").([]any)
	if !slices.Equal(excluded, []any{"kube-system", "qm-system", "monitoring"}) {
		t.Errorf("excluded namespaces %v", excluded)
	}
	if r := mustRender(t, "--set", "auditor.enabled=false"); r.has(cronJob) || r.has("ClusterRole/qm-quartermaster-auditor") {
		t.Error("auditor disabled but its CronJob or RBAC rendered")
	}
	// Enabled, the CronJob runs the auditor with the shared configuration,
	// nightly by default, never two at once.
	job := mustRender(t, withAuditor()...).get(t, cronJob)
	if str(job, "spec", "schedule") != "17 2 * * *" || str(job, "spec", "concurrencyPolicy") != "Forbid" {
		t.Errorf("auditor CronJob schedule %q concurrencyPolicy %q", str(job, "spec", "schedule"), str(job, "spec", "concurrencyPolicy"))
	}
	c := at(job, "spec", "jobTemplate", "spec", "template", "spec", "containers", "0")
	if str(c, "command", "0") != "/auditor" || str(c, "args", "0") != "--accounts=/etc/quartermaster/auditor/accounts.yaml" {
		t.Errorf("auditor container command %v args %v", at(c, "command"), at(c, "args"))
	}
	hard := mustRender(t, "--set", "webhook.podAntiAffinity=hard")
	if at(hard.get(t, deployment), "spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") == nil {
		t.Error("hard anti-affinity not required")
	}
}

// TestExemption: exemption is by namespace label only, the label is the one
// configured, and the policy guarding it names the configured admins.
func TestExemption(t *testing.T) {
	const policy = "ValidatingAdmissionPolicy/qm-quartermaster-exemption"
	tests := map[string]struct {
		args               []string
		label              string
		wantAdminsContains []string
	}{
		"defaults": {label: "quartermaster.io/ignore", wantAdminsContains: []string{`"system:masters"`}},
		"custom label and admins": {
			args:               []string{"--set", "webhook.exemptNamespaceLabel=example.com/no-gpu-policy", "--set", "webhook.exemptionAdmins.groups={platform-admins}", "--set", "webhook.exemptionAdmins.users={break-glass@example.com}"},
			label:              "example.com/no-gpu-policy",
			wantAdminsContains: []string{`"platform-admins"`, `"break-glass@example.com"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.args...)
			for _, key := range []string{mutating, validating} {
				w := at(r.get(t, key), "webhooks", "0")
				if at(w, "objectSelector") != nil {
					t.Errorf("%s: an objectSelector lets objects exempt themselves", key)
				}
				exempt := at(w, "namespaceSelector", "matchExpressions", "1")
				if str(exempt, "key") != tc.label || str(exempt, "operator") != "NotIn" || str(exempt, "values", "0") != "true" {
					t.Errorf("%s: namespace exemption %v, want %s NotIn [true]", key, exempt, tc.label)
				}
				if str(w, "matchConditions", "1", "name") != "not-made-from-a-placed-template" {
					t.Errorf("%s: second matchCondition %v", key, at(w, "matchConditions", "1"))
				}
			}
			p := r.get(t, policy)
			if str(p, "spec", "variables", "0", "expression") != "'"+tc.label+"'" {
				t.Errorf("policy guards %s, want %q", str(p, "spec", "variables", "0", "expression"), tc.label)
			}
			admin := str(p, "spec", "variables", "3", "expression")
			for _, want := range tc.wantAdminsContains {
				if !strings.Contains(admin, want) {
					t.Errorf("admin expression %s lacks %s", admin, want)
				}
			}
			if str(r.get(t, "ValidatingAdmissionPolicyBinding/qm-quartermaster-exemption"), "spec", "validationActions", "0") != "Deny" {
				t.Error("the exemption policy is not bound with Deny")
			}
		})
	}
}

// TestWorkloadRules: a custom kind reaches the webhook (registered, and let
// through the GPU condition by kind), and its rule reaches the binary (the
// rules file without the chart-only fields, and the flag naming it).
func TestWorkloadRules(t *testing.T) {
	r := mustRender(t, "--set", "workloadRules[0].group=example.com", "--set", "workloadRules[0].kind=Trainer",
		"--set", "workloadRules[0].resource=trainers", "--set", "workloadRules[0].class=training",
		"--set", "workloadRules[0].podSets[0].each=spec.workers.*", "--set", "workloadRules[0].podSets[0].template=template")
	for _, key := range []string{mutating, validating} {
		w := at(r.get(t, key), "webhooks", "0")
		rules := at(w, "rules").([]any)
		last := rules[len(rules)-1]
		if str(last, "apiGroups", "0") != "example.com" || str(last, "resources", "0") != "trainers" || str(last, "apiVersions", "0") != "*" {
			t.Errorf("%s: last rule %v, want example.com trainers", key, last)
		}
		if !strings.Contains(str(w, "matchConditions", "0", "expression"), "(request.kind.group == 'example.com' && request.kind.kind == 'Trainer')") {
			t.Errorf("%s: the GPU condition does not let Trainers through", key)
		}
	}
	file := str(r.get(t, "ConfigMap/qm-quartermaster-config"), "data", "workload-rules.yaml")
	var parsed struct {
		Rules []map[string]any `json:"rules"`
	}
	if err := yaml.UnmarshalStrict([]byte(file), &parsed); err != nil || len(parsed.Rules) != 1 {
		t.Fatalf("workload-rules.yaml %q: %v", file, err)
	}
	if _, has := parsed.Rules[0]["resource"]; has || parsed.Rules[0]["kind"] != "Trainer" {
		t.Errorf("rule in the file %v: want the workload rule without the chart's resource", parsed.Rules[0])
	}
	if rules, err := workload.ReadRules(strings.NewReader(file)); err != nil || len(rules) != 1 {
		t.Errorf("the webhook would refuse the rendered rules file: %v", err)
	}
	args := at(r.get(t, deployment), "spec", "template", "spec", "containers", "0", "args").([]any)
	if !slices.Contains(args, any("--workload-rules=/etc/quartermaster/config/workload-rules.yaml")) {
		t.Errorf("args %v lack --workload-rules", args)
	}
	if d := mustRender(t); slices.ContainsFunc(at(d.get(t, deployment), "spec", "template", "spec", "containers", "0", "args").([]any),
		func(a any) bool { return strings.HasPrefix(a.(string), "--workload-rules") }) {
		t.Error("--workload-rules without workloadRules")
	}
}

// TestRejectedValues: the schema and the templates refuse what cannot work.
func TestRejectedValues(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"external URL without CA":    {[]string{"--set", "webhook.externalURL=https://x:1"}, "externalCABundle"},
		"no webhook anywhere":        {[]string{"--set", "webhook.inCluster=false"}, "needs webhook.externalURL"},
		"unknown failure policy":     {[]string{"--set", "webhook.failurePolicy=Sometimes"}, "failurePolicy"},
		"timeout above 30 s":         {[]string{"--set", "webhook.timeoutSeconds=31"}, "timeoutSeconds"},
		"plain HTTP external URL":    {[]string{"--set", "webhook.externalURL=http://x:1", "--set", "webhook.externalCABundle=Q0EK"}, "externalURL"},
		"misspelt value":             {[]string{"--set", "webhook.replica=3"}, "replica"},
		"quota for an unknown cloud": {[]string{"--set", "quotas[0].cloud=ibm", "--set", "quotas[0].region=r", "--set", "quotas[0].gpuModel=H100", "--set", "quotas[0].gpus=1"}, "cloud"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil {
				t.Fatal("rendered, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not mention %s", err, tc.want)
			}
		})
	}
}

// auditor.openReports: on by default, the auditor writes this cluster's
// findings as OpenReports with the role to do so and nothing more; the
// wgpolicyk8s API swaps both; off, neither the flag nor the write access.
func TestAuditorOpenReports(t *testing.T) {
	tests := map[string]struct {
		set      []string
		args     []string
		group    string
		resource string
	}{
		"default":     {nil, []string{"--openreports=in-cluster", "--openreports-api=openreports"}, "openreports.io", "reports"},
		"wgpolicyk8s": {[]string{"--set", "auditor.openReports.api=wgpolicyk8s"}, []string{"--openreports=in-cluster", "--openreports-api=wgpolicyk8s"}, "wgpolicyk8s.io", "policyreports"},
		"off":         {[]string{"--set", "auditor.openReports.enabled=false"}, nil, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, append(withAuditor(), tc.set...)...)
			job := r.get(t, cronJob)
			args := fmt.Sprint(at(job, "spec", "jobTemplate", "spec", "template", "spec", "containers", "0", "args"))
			for _, a := range tc.args {
				if !strings.Contains(args, a) {
					t.Errorf("args %s lack %s", args, a)
				}
			}
			if tc.args == nil && strings.Contains(args, "--openreports") {
				t.Errorf("args %s write reports although off", args)
			}
			var writes []string
			for _, rule := range at(r.get(t, "ClusterRole/qm-quartermaster-auditor"), "rules").([]any) {
				if verbs := at(rule, "verbs").([]any); !slices.Equal(verbs, []any{"list"}) {
					writes = append(writes, fmt.Sprint(at(rule, "apiGroups"), at(rule, "resources"), verbs))
				}
			}
			want := []string{}
			if tc.group != "" {
				want = []string{fmt.Sprintf("[%s] [%s] [create patch]", tc.group, tc.resource),
					fmt.Sprintf("[%s] [cluster%s] [create delete get list patch]", tc.group, tc.resource)}
			}
			if !slices.Equal(writes, want) {
				t.Errorf("rules beyond list %v, want %v", writes, want)
			}
		})
	}
}

// auditor.history and auditor.pushgateway become the auditor's flags, and
// auditor.prometheusRule alerts on the metrics the run pushes; without a
// gateway the rule is refused (its metrics would never arrive).
func TestAuditorHistoryAndAlerts(t *testing.T) {
	r := mustRender(t, append(withAuditor(), "--set", "auditor.history=s3://audits/prod", "--set", "auditor.pushgateway=http://pushgateway.monitoring:9091",
		"--set", "auditor.prometheusRule.enabled=true", "--set", "auditor.prometheusRule.anomalyZScore=4")...)
	args := fmt.Sprint(at(r.get(t, cronJob), "spec", "jobTemplate", "spec", "template", "spec", "containers", "0", "args"))
	for _, a := range []string{"--history=s3://audits/prod", "--pushgateway=http://pushgateway.monitoring:9091"} {
		if !strings.Contains(args, a) {
			t.Errorf("args %s lack %s", args, a)
		}
	}
	rule := r.get(t, "PrometheusRule/qm-quartermaster-auditor")
	exprs := map[string]string{}
	for _, rl := range at(rule, "spec", "groups", "0", "rules").([]any) {
		exprs[str(rl, "alert")] = str(rl, "expr")
	}
	for alert, want := range map[string]string{
		"QuartermasterCriticalFindings":    `quartermaster_audit_findings{job="quartermaster_auditor",severity="critical"}`,
		"QuartermasterSpendAnomaly":        `abs(quartermaster_audit_spend_anomaly_zscore{job="quartermaster_auditor"}) > 4`,
		"QuartermasterAuditAccountsFailed": `status="failed"`,
		"QuartermasterAuditStale":          `> 172800`,
	} {
		if !strings.Contains(exprs[alert], want) {
			t.Errorf("%s: expr %q, want it to contain %q", alert, exprs[alert], want)
		}
	}
	if _, err := helmTemplate(t, append(withAuditor(), "--set", "auditor.prometheusRule.enabled=true")...); err == nil || !strings.Contains(err.Error(), "needs auditor.pushgateway") {
		t.Errorf("a rule without a gateway: %v", err)
	}
	if r := mustRender(t, withAuditor()...); r.has("PrometheusRule/qm-quartermaster-auditor") || strings.Contains(fmt.Sprint(at(r.get(t, cronJob), "spec")), "--history") {
		t.Error("history or alerts rendered by default")
	}
}
