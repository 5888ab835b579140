//go:build e2e

package chart

import (
	"reflect"
	"slices"
	"testing"
)

// TestCatalogAndQuotaChangesDoNotRestart: the webhook reloads the catalog
// and the quotas from its mounted ConfigMap (--catalog-reload-interval), so
// a price or quota change must not change the pod template. A checksum
// annotation over them would roll every replica for each price update,
// losing capacity during the rollout for nothing. The ConfigMap must be
// mounted as a directory: a subPath mount never sees an update.
func TestCatalogAndQuotaChangesDoNotRestart(t *testing.T) {
	render := func(price, gpus string) (object, object) {
		r := mustRender(t, "--set-string", "catalog=# as-of: 2026-11-01\ncloud\\,region\\,"+price,
			"--set", "quotas[0].cloud=aws", "--set", "quotas[0].region=us-east-1", "--set", "quotas[0].gpuModel=H100", "--set", "quotas[0].gpus="+gpus)
		return r.get(t, deployment), r.get(t, "ConfigMap/qm-quartermaster-config")
	}
	before, cfgBefore := render("1.00", "64")
	after, cfgAfter := render("2.00", "32")
	if reflect.DeepEqual(at(cfgBefore, "data"), at(cfgAfter, "data")) {
		t.Fatal("the ConfigMap did not change with the catalog and quotas: the test proves nothing")
	}
	if tb, ta := at(before, "spec", "template"), at(after, "spec", "template"); !reflect.DeepEqual(tb, ta) {
		t.Errorf("a catalog or quota change alters the webhook's pod template (a restart):\nbefore %v\nafter  %v", tb, ta)
	}
	c := at(after, "spec", "template", "spec", "containers", "0")
	args := at(c, "args").([]any)
	for _, want := range []string{"--catalog=/etc/quartermaster/config/catalog.csv", "--quota=/etc/quartermaster/config/quotas.yaml"} {
		if !slices.Contains(args, any(want)) {
			t.Errorf("webhook args %v lack %s", args, want)
		}
	}
	mounts := at(c, "volumeMounts").([]any)
	i := slices.IndexFunc(mounts, func(m any) bool { return str(m, "name") == "config" })
	if i < 0 || str(mounts[i], "mountPath") != "/etc/quartermaster/config" || at(mounts[i], "subPath") != nil {
		t.Errorf("config mount %v: want the whole ConfigMap at /etc/quartermaster/config, no subPath", mounts)
	}
}
