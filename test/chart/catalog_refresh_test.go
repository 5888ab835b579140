//go:build e2e

package chart

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	refreshCronJob = "CronJob/qm-quartermaster-catalog-refresh"
	refreshRole    = "Role/qm-quartermaster-catalog-refresh"
	refreshBinding = "RoleBinding/qm-quartermaster-catalog-refresh"
	refreshSA      = "ServiceAccount/qm-quartermaster-catalog-refresh"
	catalogCM      = "ConfigMap/qm-quartermaster-catalog"
	seedCatalog    = "cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\naws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,,efa\n"
)

// withRefresh renders with the refresh on and a seed catalog.
func withRefresh(args ...string) []string {
	return append([]string{"--set", "catalogRefresh.enabled=true", "--set-string", "catalog=" + strings.ReplaceAll(seedCatalog, ",", "\\,")}, args...)
}

func refreshContainer(t *testing.T, r rendered) any {
	t.Helper()
	return at(r.get(t, refreshCronJob), "spec", "jobTemplate", "spec", "template", "spec", "containers", "0")
}

// TestCatalogRefreshOffByDefault: nothing of the refresh is rendered unless enabled, and the catalog stays in the
// shared ConfigMap, mounted as it always was.
func TestCatalogRefreshOffByDefault(t *testing.T) {
	r := mustRender(t, "--set-string", "catalog="+strings.ReplaceAll(seedCatalog, ",", "\\,"))
	for _, k := range []string{refreshCronJob, refreshRole, refreshBinding, refreshSA, catalogCM} {
		if r.has(k) {
			t.Errorf("%s rendered with catalogRefresh.enabled=false", k)
		}
	}
	if got := str(r.get(t, "ConfigMap/qm-quartermaster-config"), "data", "catalog.csv"); strings.TrimSpace(got) != strings.TrimSpace(seedCatalog) {
		t.Errorf("shared ConfigMap's catalog.csv %q, want the catalog value", got)
	}
	pod := at(r.get(t, deployment), "spec", "template", "spec")
	if name := str(volume(pod, "config"), "configMap", "name"); name != "qm-quartermaster-config" {
		t.Errorf("webhook config volume %v, want the shared ConfigMap", volume(pod, "config"))
	}
}

// TestCatalogRefreshNeedsASeed: the webhook refuses to start without a catalog file, and the first refresh may be
// a day away: enabling the refresh without a starting catalog is an error that says what to do.
func TestCatalogRefreshNeedsASeed(t *testing.T) {
	_, err := helmTemplate(t, "--set", "catalogRefresh.enabled=true")
	if err == nil || !strings.Contains(err.Error(), "catalogRefresh.enabled needs catalog") {
		t.Fatalf("error %v, want catalogRefresh.enabled needs catalog", err)
	}
}

// TestCatalogRefreshRBAC: the refresh's ServiceAccount may get, update and patch its one ConfigMap by name, and
// nothing else: not the shared ConfigMap (quotas, workload rules), not create, list or watch, nothing cluster-wide.
func TestCatalogRefreshRBAC(t *testing.T) {
	r := mustRender(t, withRefresh()...)
	rules, _ := at(r.get(t, refreshRole), "rules").([]any)
	if len(rules) != 1 {
		t.Fatalf("role rules %v, want exactly one", rules)
	}
	want := map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "resourceNames": []any{"qm-quartermaster-catalog"}, "verbs": []any{"get", "update", "patch"}}
	if !reflect.DeepEqual(rules[0], any(want)) {
		t.Errorf("role rule %v, want %v", rules[0], want)
	}
	if str(r.get(t, refreshRole), "metadata", "namespace") != "qm-system" {
		t.Error("role not in the release namespace")
	}
	b := r.get(t, refreshBinding)
	if str(b, "roleRef", "kind") != "Role" || str(b, "roleRef", "name") != "qm-quartermaster-catalog-refresh" ||
		str(b, "subjects", "0", "kind") != "ServiceAccount" || str(b, "subjects", "0", "name") != "qm-quartermaster-catalog-refresh" || str(b, "subjects", "0", "namespace") != "qm-system" {
		t.Errorf("role binding %v: want the Role bound to the refresh's ServiceAccount", b)
	}
	pod := at(r.get(t, refreshCronJob), "spec", "jobTemplate", "spec", "template", "spec")
	if str(pod, "serviceAccountName") != "qm-quartermaster-catalog-refresh" {
		t.Errorf("refresh pod runs as %q", str(pod, "serviceAccountName"))
	}
	for k := range r {
		if strings.HasPrefix(k, "ClusterRole") && strings.Contains(k, "catalog") {
			t.Errorf("%s: the refresh needs nothing cluster-wide", k)
		}
	}
	// No other Role or ClusterRole rule names the refresh's ServiceAccount.
	for k, o := range r {
		if !strings.HasSuffix(strings.SplitN(k, "/", 2)[0], "Binding") || k == refreshBinding {
			continue
		}
		subjects, _ := at(o, "subjects").([]any)
		for _, s := range subjects {
			if str(s, "name") == "qm-quartermaster-catalog-refresh" {
				t.Errorf("%s also binds the refresh's ServiceAccount", k)
			}
		}
	}
}

// TestCatalogRefreshWiring: the CronJob runs the image's /qm catalog refresh into the catalog ConfigMap, which
// holds the seed; the shared ConfigMap no longer carries catalog.csv; the webhook and the auditor see the catalog
// ConfigMap projected into their config directory, where --catalog reads it, and the pod template does not change
// with a refresh.
func TestCatalogRefreshWiring(t *testing.T) {
	r := mustRender(t, withRefresh("--set", "auditor.enabled=true", "--set", "auditor.accounts.accounts[0].cloud=kubernetes", "--set", "auditor.accounts.accounts[0].id=in-cluster")...)
	cj := r.get(t, refreshCronJob)
	c := refreshContainer(t, r)
	if str(c, "image") != str(r.get(t, deployment), "spec", "template", "spec", "containers", "0", "image") {
		t.Errorf("refresh image %q is not the webhook's", str(c, "image"))
	}
	if cmd := at(c, "command"); !reflect.DeepEqual(cmd, []any{"/qm"}) {
		t.Errorf("command %v, want /qm", cmd)
	}
	a := args(c)
	for _, want := range []string{"catalog", "refresh", "--configmap=qm-system/qm-quartermaster-catalog", "--clouds=aws,azure,gcp", "--aws-spot=false", "--state=/tmp/aws-price-state.json", "--timeout=3540s"} {
		if !slices.Contains(a, want) {
			t.Errorf("refresh args %v lack %s", a, want)
		}
	}
	if slices.ContainsFunc(a, func(s string) bool { return strings.HasPrefix(s, "--regions") }) {
		t.Errorf("refresh args %v: --regions without catalogRefresh.regions", a)
	}
	if str(cj, "spec", "schedule") != "17 4 * * *" || str(cj, "spec", "concurrencyPolicy") != "Forbid" {
		t.Errorf("schedule %q, concurrency %q", str(cj, "spec", "schedule"), str(cj, "spec", "concurrencyPolicy"))
	}
	if got := at(cj, "spec", "jobTemplate", "spec", "activeDeadlineSeconds"); got != 3600.0 {
		t.Errorf("activeDeadlineSeconds %v, want 3600", got)
	}
	if mountPath(c, "tmp") != "/tmp" || at(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("refresh container: want a read-only root and /tmp writable for the state file")
	}
	if got := str(r.get(t, catalogCM), "data", "catalog.csv"); strings.TrimSpace(got) != strings.TrimSpace(seedCatalog) {
		t.Errorf("catalog ConfigMap holds %q, want the seed", got)
	}
	if _, ok := at(r.get(t, "ConfigMap/qm-quartermaster-config"), "data", "catalog.csv").(string); ok {
		t.Error("the shared ConfigMap still has catalog.csv: the projected volume would hold it twice")
	}
	auditorPodSpec := at(r.get(t, "CronJob/qm-quartermaster-auditor"), "spec", "jobTemplate", "spec", "template", "spec")
	webhookPodSpec := at(r.get(t, deployment), "spec", "template", "spec")
	for name, pod := range map[string]any{"webhook": webhookPodSpec, "auditor": auditorPodSpec} {
		v := volume(pod, "config")
		sources, _ := at(v, "projected", "sources").([]any)
		var names []string
		for _, s := range sources {
			names = append(names, str(s, "configMap", "name"))
		}
		if !reflect.DeepEqual(names, []string{"qm-quartermaster-config", "qm-quartermaster-catalog"}) {
			t.Errorf("%s config volume %v: want the shared and the catalog ConfigMaps projected", name, v)
		}
		if !slices.Contains(args(at(pod, "containers", "0")), "--catalog=/etc/quartermaster/config/catalog.csv") {
			t.Errorf("%s does not read /etc/quartermaster/config/catalog.csv", name)
		}
	}
	// A refresh changes the catalog ConfigMap, never the webhook's pod template.
	other := mustRender(t, withRefresh("--set", "catalogRefresh.schedule=0 1 * * *")...)
	if !reflect.DeepEqual(at(r.get(t, deployment), "spec", "template"), at(other.get(t, deployment), "spec", "template")) {
		t.Error("the refresh's values change the webhook's pod template")
	}
}

// TestCatalogRefreshValues: every catalogRefresh value has its effect.
func TestCatalogRefreshValues(t *testing.T) {
	r := mustRender(t, withRefresh(
		"--set", "catalogRefresh.schedule=5 3 * * 1",
		"--set", "catalogRefresh.clouds={aws,azure}",
		"--set", "catalogRefresh.regions={us-east-1,eastus}",
		"--set", "catalogRefresh.awsSpot=true",
		"--set", "catalogRefresh.gcpApiKeySecret.name=billing", "--set", "catalogRefresh.gcpApiKeySecret.key=token",
		"--set", "catalogRefresh.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111111111111:role/prices",
		"--set", "catalogRefresh.activeDeadlineSeconds=900",
		"--set", "catalogRefresh.resources.limits.memory=1Gi",
	)...)
	cj := r.get(t, refreshCronJob)
	c := refreshContainer(t, r)
	a := args(c)
	for _, want := range []string{"--clouds=aws,azure", "--regions=us-east-1,eastus", "--aws-spot=true", "--timeout=840s"} {
		if !slices.Contains(a, want) {
			t.Errorf("args %v lack %s", a, want)
		}
	}
	if str(cj, "spec", "schedule") != "5 3 * * 1" {
		t.Errorf("schedule %q", str(cj, "spec", "schedule"))
	}
	if got := at(cj, "spec", "jobTemplate", "spec", "activeDeadlineSeconds"); got != 900.0 {
		t.Errorf("activeDeadlineSeconds %v, want 900", got)
	}
	key := env(c)["QM_GCP_API_KEY"]
	if str(key, "valueFrom", "secretKeyRef", "name") != "billing" || str(key, "valueFrom", "secretKeyRef", "key") != "token" {
		t.Errorf("QM_GCP_API_KEY %v, want secret billing key token", key)
	}
	if got := str(r.get(t, refreshSA), "metadata", "annotations", "eks.amazonaws.com/role-arn"); got != "arn:aws:iam::111111111111:role/prices" {
		t.Errorf("service account annotation %q", got)
	}
	if got := str(c, "resources", "limits", "memory"); got != "1Gi" {
		t.Errorf("memory limit %q, want 1Gi", got)
	}
	// No secret name: no environment, Application Default Credentials.
	if _, ok := env(refreshContainer(t, mustRender(t, withRefresh()...)))["QM_GCP_API_KEY"]; ok {
		t.Error("QM_GCP_API_KEY set without catalogRefresh.gcpApiKeySecret.name")
	}
	// The schema refuses what qm would refuse at 4 a.m.
	for _, bad := range [][]string{
		{"--set", "catalogRefresh.clouds={oci}"},
		{"--set", "catalogRefresh.activeDeadlineSeconds=30"},
		{"--set", "catalogRefresh.bogus=1"},
	} {
		if _, err := helmTemplate(t, withRefresh(bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
