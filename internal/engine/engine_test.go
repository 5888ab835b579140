package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
)

// catalogCSV is a two-offer catalog: one L4 in us-east-1 at price, one in
// eu-west-1 a dollar dearer.
func catalogCSV(price string) string {
	return "# as-of: 2026-11-01\n" + costing.CSVHeader + "\n" +
		"aws,us-east-1,,g6.xlarge,L4,1,24,4,16," + price + ",,\n" +
		"aws,eu-west-1,,g6.xlarge,L4,1,24,4,16," + price + "1,,\n"
}

func quotaYAML(gpus string) string {
	return "quotas:\n- {cloud: aws, region: us-east-1, gpuModel: L4, gpus: " + gpus + "}\n- {cloud: aws, region: eu-west-1, gpuModel: L4, gpus: " + gpus + "}\n"
}

// restrictingBundle is a policy bundle whose only rule restricts every
// workload to eu-west-1, with the test LoadDir insists on.
var restrictingBundle = map[string]string{
	"r.rego":      "package quartermaster.r\n\nrestrict contains {\"field\": \"region\", \"allowed\": [\"eu-west-1\"], \"reason\": \"eu only\"} if true\n",
	"r_test.rego": "package quartermaster.r_test\n\nimport data.quartermaster.r\n\ntest_restricts if count(r.restrict) == 1\n",
}

const namespaceState = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml, labels: {quartermaster.io/team: vision}}\n"

const nodeState = namespaceState + "---\napiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {quartermaster.io/cloud: aws, topology.kubernetes.io/region: eu-west-1, node.kubernetes.io/instance-type: g6.xlarge, quartermaster.io/capacity-type: on-demand}}\n"

// write puts files in a fresh directory and returns their paths by name.
func write(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{"dir": dir}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// gpuJob is a one-GPU Job in namespace ml, as admission sees it.
func gpuJob(annotations map[string]any) map[string]any {
	return map[string]any{"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "t", "namespace": "ml", "annotations": annotations},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "trainer",
			"containers": []any{map[string]any{"name": "c", "image": "ghcr.io/example/train:1",
				"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": "1"}}}}}}}}
}

func TestNew(t *testing.T) {
	files := write(t, map[string]string{
		"catalog.csv": catalogCSV("1"), "quota.yaml": quotaYAML("8"), "usage.yaml": quotaYAML("1"),
		"empty.csv": "", "bad.yaml": "quotas: [{cloud: nowhere}]\n", "state.yaml": nodeState,
		"rules.yaml": "rules: nonsense\n", "inventory.yaml": "datasets: []\n",
		"vms.csv": "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone\n" +
			"g6.xlarge,L4,1.0,4.0,16.0,,0.8048,0.32,us-east-1,us-east-1a\n",
	})
	bundle := write(t, restrictingBundle)
	with := func(edit func(*Config)) Config {
		c := NewConfig()
		c.Policies.None = true
		edit(&c)
		return c
	}
	tests := map[string]struct {
		cfg Config
		// wantErr lists what the error must name: the flag and the file.
		wantErr []string
		check   func(*testing.T, *Engine)
	}{
		"embedded catalog and library": {
			cfg: NewConfig(),
			check: func(t *testing.T, e *Engine) {
				if e.Catalog().Len() < 100 || e.PolicyRevision() == "" || e.policy == nil {
					t.Errorf("catalog of %d offers, policy revision %q", e.Catalog().Len(), e.PolicyRevision())
				}
			},
		},
		"catalog, quota and usage files": {
			cfg: with(func(c *Config) {
				c.Sources.Catalog, c.Sources.Quota, c.Sources.Usage = files["catalog.csv"], files["quota.yaml"], files["usage.yaml"]
			}),
			check: func(t *testing.T, e *Engine) {
				if e.Catalog().Len() != 2 || len(e.Usage()) != 2 || e.State().GPUUsage()[quotaKey("us-east-1")] != 1 {
					t.Errorf("catalog of %d offers, usage %v, state usage %v", e.Catalog().Len(), e.Usage(), e.State().GPUUsage())
				}
				if e.policy != nil || e.PolicyRevision() != "" {
					t.Errorf("--no-policies loaded a bundle")
				}
			},
		},
		"skypilot catalog": {
			cfg: with(func(c *Config) {
				c.Sources.Catalog, c.Sources.CatalogFormat, c.Sources.CatalogCloud = files["vms.csv"], "skypilot", "aws"
			}),
			check: func(t *testing.T, e *Engine) {
				if e.Catalog().Len() != 1 || e.Catalog().Offers()[0].Cloud != "aws" {
					t.Errorf("catalog %+v", e.Catalog().Offers())
				}
			},
		},
		"policy directory loaded once": {
			cfg: func() Config { c := NewConfig(); c.Policies.Dir = bundle["dir"]; return c }(),
			check: func(t *testing.T, e *Engine) {
				if e.reloader != nil || e.PolicyRevision() == "" {
					t.Errorf("reloader %v, revision %q", e.reloader, e.PolicyRevision())
				}
			},
		},
		"policy directory hot-reloaded": {
			cfg: func() Config {
				c := NewConfig()
				c.Policies.Dir, c.Reload.Policies = bundle["dir"], minReload
				return c
			}(),
			check: func(t *testing.T, e *Engine) {
				if e.reloader == nil || e.PolicyRevision() == "" {
					t.Errorf("no reloader")
				}
			},
		},
		"standalone snapshot with nodes": {
			cfg: with(func(c *Config) {
				c.Facts.ClusterState, c.Facts.Inventory = files["state.yaml"], files["inventory.yaml"]
			}),
			check: func(t *testing.T, e *Engine) {
				if e.prov == nil {
					t.Error("auto: the file holds a Node, but the provisionable filter is off")
				}
				if got := e.NamespaceLabels(gpuJob(nil))["quartermaster.io/team"]; got != "vision" {
					t.Errorf("namespace team %q", got)
				}
				out, err := e.Evaluator().Evaluate(context.Background(), &admission.Input{ID: "x", Object: gpuJob(nil)})
				if err != nil || !out.Allowed || out.Decision.Region != "eu-west-1" {
					t.Fatalf("want the one provisionable region, eu-west-1: %+v %v", out, err)
				}
			},
		},
		"provisionable filter off": {
			cfg: with(func(c *Config) { c.Facts.ClusterState, c.Nodes.ProvisionableFilter = files["state.yaml"], "off" }),
			check: func(t *testing.T, e *Engine) {
				if e.prov != nil {
					t.Error("off, but the filter runs")
				}
			},
		},
		"missing catalog":   {cfg: with(func(c *Config) { c.Sources.Catalog = "/nonexistent/c.csv" }), wantErr: []string{"--catalog", "/nonexistent/c.csv"}},
		"empty catalog":     {cfg: with(func(c *Config) { c.Sources.Catalog = files["empty.csv"] }), wantErr: []string{"--catalog", files["empty.csv"]}},
		"missing quota":     {cfg: with(func(c *Config) { c.Sources.Quota = "/nonexistent/q.yaml" }), wantErr: []string{"--quota", "/nonexistent/q.yaml"}},
		"bad quota":         {cfg: with(func(c *Config) { c.Sources.Quota = files["bad.yaml"] }), wantErr: []string{"--quota", files["bad.yaml"]}},
		"missing usage":     {cfg: with(func(c *Config) { c.Sources.Usage = "/nonexistent/u.yaml" }), wantErr: []string{"--usage", "/nonexistent/u.yaml"}},
		"bad usage":         {cfg: with(func(c *Config) { c.Sources.Usage = files["bad.yaml"] }), wantErr: []string{"--usage", files["bad.yaml"]}},
		"missing state":     {cfg: with(func(c *Config) { c.Facts.ClusterState = "/nonexistent/s.yaml" }), wantErr: []string{"--cluster-state", "/nonexistent/s.yaml"}},
		"missing inventory": {cfg: with(func(c *Config) { c.Facts.Inventory = "/nonexistent/i.yaml" }), wantErr: []string{"--inventory", "/nonexistent/i.yaml"}},
		"bad rules":         {cfg: with(func(c *Config) { c.Sources.WorkloadRules = files["rules.yaml"] }), wantErr: []string{"--workload-rules", files["rules.yaml"]}},
		"missing policies":  {cfg: func() Config { c := NewConfig(); c.Policies.Dir = "/nonexistent/p"; return c }(), wantErr: []string{"--policies", "/nonexistent/p"}},
		"bad label key":     {cfg: with(func(c *Config) { c.Nodes.LabelKeys = []string{"bogus=x"} }), wantErr: []string{"--label-profile/--label-key", `"bogus"`}},
		"bad format":        {cfg: with(func(c *Config) { c.Sources.CatalogFormat = "xml" }), wantErr: []string{"--catalog-format", `"xml"`}},
		"both policy flags": {cfg: with(func(c *Config) { c.Policies.Dir = "p" }), wantErr: []string{"--policies and --no-policies"}},
		"tiny reload":       {cfg: with(func(c *Config) { c.Reload.Catalog = 1 }), wantErr: []string{"--catalog-reload-interval 1ns"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := New(context.Background(), tc.cfg, Deps{})
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
}

func quotaKey(region string) quota.Key {
	return quota.Key{Cloud: "aws", Region: region, GPUModel: "L4"}
}

// TestCheckSwapsCatalogAndQuotas: a changed catalog or quota file goes into
// service on the next check, through the evaluator; a broken one is
// rejected, named, and the version in service keeps deciding.
func TestCheckSwapsCatalogAndQuotas(t *testing.T) {
	files := write(t, map[string]string{"catalog.csv": catalogCSV("1"), "quota.yaml": quotaYAML("8")})
	cfg := NewConfig()
	cfg.Policies.None = true
	cfg.Sources.Catalog, cfg.Sources.Quota, cfg.Reload.Catalog = files["catalog.csv"], files["quota.yaml"], minReload
	reg := prometheus.NewRegistry()
	e, err := New(context.Background(), cfg, Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	place := func() *admission.Outcome {
		t.Helper()
		out, err := e.Evaluator().Evaluate(context.Background(), &admission.Input{ID: "x", Object: gpuJob(nil)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	steps := []struct {
		name, file, content string
		wantChanged         bool
		wantErr             string
		// wantPrice is the hourly price placed at; 0 wants no placement.
		wantPrice float64
	}{
		{name: "new prices", file: "catalog.csv", content: catalogCSV("2"), wantChanged: true, wantPrice: 2},
		{name: "broken catalog kept out", file: "catalog.csv", content: "cloud\n", wantErr: files["catalog.csv"], wantPrice: 2},
		{name: "quota to zero", file: "quota.yaml", content: quotaYAML("0"), wantChanged: true},
		{name: "quota back", file: "quota.yaml", content: quotaYAML("4"), wantChanged: true, wantPrice: 2},
	}
	for _, s := range steps {
		if err := os.WriteFile(files[s.file], []byte(s.content), 0o600); err != nil {
			t.Fatal(err)
		}
		changed, err := e.Check(context.Background())
		if changed != s.wantChanged || (err == nil) != (s.wantErr == "") || (err != nil && !strings.Contains(err.Error(), s.wantErr)) {
			t.Fatalf("%s: changed %v, err %v", s.name, changed, err)
		}
		out := place()
		switch {
		case s.wantPrice == 0 && out.Allowed:
			t.Fatalf("%s: placed %+v under a zero quota", s.name, out.Decision)
		case s.wantPrice > 0 && (!out.Allowed || out.Decision.PricePerHour != s.wantPrice):
			t.Fatalf("%s: outcome %+v, want a placement at %v", s.name, out, s.wantPrice)
		}
	}
	// The reload series are registered with the injected registry.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if !strings.Contains(strings.Join(names, " "), "quartermaster_catalog_info") {
		t.Errorf("metrics %v lack quartermaster_catalog_info", names)
	}
}

// TestGang: batch restrictions come from the policy phase (a rule that
// restricts to eu-west-1), and a running workload's placement from its
// decision annotation.
func TestGang(t *testing.T) {
	bundle := write(t, restrictingBundle)
	files := write(t, map[string]string{"catalog.csv": catalogCSV("1")})
	cfg := NewConfig()
	cfg.Sources.Catalog, cfg.Policies.Dir = files["catalog.csv"], bundle["dir"]
	e, err := New(context.Background(), cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		obj         map[string]any
		wantPlace   bool
		wantCurrent string
	}{
		"new workload": {obj: gpuJob(nil), wantPlace: true},
		"running workload": {obj: gpuJob(map[string]any{"quartermaster.io/decision": `{"cloud":"aws","region":"us-east-1","instanceType":"g6.xlarge"}`}),
			wantPlace: true, wantCurrent: "us-east-1"},
		"no GPU": {obj: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g, err := e.Gang(context.Background(), &admission.Input{ID: "x", Object: tc.obj})
			if err != nil {
				t.Fatal(err)
			}
			if g.Placeable() != tc.wantPlace {
				t.Fatalf("placeable %v: %+v", g.Placeable(), g.Outcome)
			}
			if !tc.wantPlace {
				return
			}
			if !strings.Contains(g.Restrictions.String(), "eu-west-1") {
				t.Errorf("restrictions %s, want the policy's eu-west-1", g.Restrictions)
			}
			if got := ""; g.Current != nil {
				got = g.Current.Region
				if got != tc.wantCurrent {
					t.Errorf("current %+v, want %s", g.Current, tc.wantCurrent)
				}
			} else if tc.wantCurrent != "" {
				t.Errorf("no current placement, want %s", tc.wantCurrent)
			}
		})
	}
}

// TestRunReloads: with reload intervals, Run puts a changed catalog and a
// changed policy directory in service without a call to Check, as the
// webhook serves for weeks.
func TestRunReloads(t *testing.T) {
	files := write(t, map[string]string{"catalog.csv": catalogCSV("1")})
	bundle := write(t, restrictingBundle)
	cfg := NewConfig()
	cfg.Sources.Catalog, cfg.Policies.Dir = files["catalog.csv"], bundle["dir"]
	cfg.Reload = ReloadConfig{Catalog: minReload, Policies: minReload}
	e, err := New(context.Background(), cfg, Deps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	if err := os.WriteFile(files["catalog.csv"], []byte(catalogCSV("3")), 0o600); err != nil {
		t.Fatal(err)
	}
	usOnly := strings.ReplaceAll(restrictingBundle["r.rego"], "eu-west-1", "us-east-1")
	if err := os.WriteFile(bundle["r.rego"], []byte(usOnly), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := e.Evaluator().Evaluate(context.Background(), &admission.Input{ID: "x", Object: gpuJob(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Allowed && out.Decision.Region == "us-east-1" && out.Decision.PricePerHour == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still deciding %+v with the old catalog or policies", out.Decision)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInformersNotReadyBeforeSync: in a cluster the engine watches through
// informers, and Ready says so until their caches sync; building them
// contacts nothing (Run starts them).
func TestInformersNotReadyBeforeSync(t *testing.T) {
	cfg := NewConfig()
	cfg.Policies.None = true
	e, err := New(context.Background(), cfg, Deps{Kube: &rest.Config{Host: "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.informers == nil || e.prov == nil {
		t.Fatalf("informers %v, provisionable filter %v: want both (auto is on with an API server)", e.informers, e.prov)
	}
	if err := e.Ready(); err == nil || !strings.Contains(err.Error(), "cluster caches not ready") {
		t.Fatalf("ready before any sync: %v", err)
	}
}
