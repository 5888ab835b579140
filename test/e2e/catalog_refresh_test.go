//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

const (
	refreshRelease   = "qmc"
	refreshNamespace = "quartermaster-catalog"
	refreshCatalogCM = refreshRelease + "-quartermaster-catalog"
	refreshSA        = refreshRelease + "-quartermaster-catalog-refresh"
)

// refreshPriceAPIs are the price APIs in their wire formats, one GPU offer each (the adapters' tests cover the
// formats in depth); GCP answers 403 when gcpFails.
func refreshPriceAPIs(t *testing.T) (awsURL, azureURL, gcpURL string) {
	t.Helper()
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/offers/v1.0/aws/AmazonEC2/current/region_index.json":
			fmt.Fprint(w, `{"formatVersion":"v1.0","regions":{"us-east-1":{"regionCode":"us-east-1","currentVersionUrl":"/offers/v1.0/aws/AmazonEC2/20261101000000/us-east-1/index.json"}}}`)
		case "/offers/v1.0/aws/AmazonEC2/20261101000000/us-east-1/index.json":
			fmt.Fprint(w, `{"formatVersion":"v1.0","offerCode":"AmazonEC2","version":"20261101000000","products":{
"S1":{"sku":"S1","productFamily":"Compute Instance","attributes":{"instanceType":"p5.48xlarge","locationType":"AWS Region","regionCode":"us-east-1",
"vcpu":"192","memory":"2,048 GiB","gpu":"8","gpuMemory":"640 GB","operatingSystem":"Linux","tenancy":"Shared","preInstalledSw":"NA",
"capacitystatus":"Used","marketoption":"OnDemand","usagetype":"BoxUsage:p5.48xlarge","licenseModel":"No License required"}}},
"terms":{"OnDemand":{"S1":{"S1.JRTCKXETXF":{"offerTermCode":"JRTCKXETXF","sku":"S1","priceDimensions":{"S1.JRTCKXETXF.6YS6EN2CT7":
{"unit":"Hrs","beginRange":"0","endRange":"Inf","pricePerUnit":{"USD":"57.1000000000"}}}}}}}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(aws.Close)
	azure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"BillingCurrency":"USD","Items":[{"currencyCode":"USD","retailPrice":98.32,"armRegionName":"eastus",
"effectiveStartDate":"2024-05-01T00:00:00Z","meterName":"ND96isr H100 v5","productName":"Virtual Machines NDsr H100 v5 Series",
"skuName":"ND96isr H100 v5","serviceName":"Virtual Machines","unitOfMeasure":"1 Hour","type":"Consumption","armSkuName":"Standard_ND96isr_H100_v5"}],
"NextPageLink":null,"Count":1}`)
	}))
	t.Cleanup(azure.Close)
	gcp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"code":403,"message":"API key not valid.","status":"PERMISSION_DENIED"}}`)
	}))
	t.Cleanup(gcp.Close)
	return aws.URL, azure.URL, gcp.URL + "/"
}

// serviceAccountKubeconfig is a kubeconfig for the cluster that authenticates as a ServiceAccount, with a token from
// the TokenRequest API, as the refresh's pod would.
func serviceAccountKubeconfig(t *testing.T, ns, sa string) string {
	t.Helper()
	token := strings.TrimSpace(kubectl(t, "create", "token", sa, "-n", ns, "--duration=10m").must(t, "a token for "+sa))
	cfg, err := clientcmd.LoadFromFile(cluster.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	for name := range cfg.AuthInfos {
		delete(cfg.AuthInfos, name)
	}
	cfg.AuthInfos[sa] = clientcmdTokenAuth(token)
	ctx.AuthInfo = sa
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// catalogOf reads the catalog ConfigMap's catalog.csv and its resourceVersion.
func catalogOf(t *testing.T) (*costing.Catalog, string, string) {
	t.Helper()
	var cm struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	getJSON(t, &cm, "configmap", refreshCatalogCM, "-n", refreshNamespace)
	cat, err := costing.ReadCSV(strings.NewReader(cm.Data["catalog.csv"]), nil, "configmap")
	if err != nil {
		t.Fatalf("the ConfigMap's catalog.csv does not read: %v", err)
	}
	return cat, cm.Data["catalog.csv"], cm.Metadata.ResourceVersion
}

// TestCatalogRefreshConfigMap: the chart's refresh objects on the real API server, and qm catalog refresh
// --configmap run with the refresh's ServiceAccount token (--kubeconfig), as its CronJob pod runs it: the prices
// served by the price APIs land in the ConfigMap, which the ServiceAccount may write while it may not touch the
// shared configuration; a refresh in which a cloud fails leaves the ConfigMap as it was; the same prices again do not
// rewrite it. The webhook, given the ConfigMap's catalog.csv where the kubelet would project it, reloads it and
// serves its as-of date.
func TestCatalogRefreshConfigMap(t *testing.T) {
	seed := restrictedCatalog(t)
	kubectl(t, "create", "namespace", refreshNamespace).must(t, "namespace")
	t.Cleanup(func() { kubectl(t, "delete", "namespace", refreshNamespace, "--timeout=90s") })
	objs := helm(t, "template", refreshRelease, filepath.Join(cluster.repo, "charts", "quartermaster"), "-n", refreshNamespace,
		"--set", "catalogRefresh.enabled=true", "--set", "catalogRefresh.schedule=0 0 1 1 *", "--set-file", "catalog="+seed,
		"--show-only", "templates/catalog-refresh.yaml", "--show-only", "templates/configmaps.yaml").must(t, "helm template")
	kubectlIn(t, []byte(objs), "apply", "-n", refreshNamespace, "-f", "-").must(t, "applying the refresh's objects")
	seeded, _, _ := catalogOf(t)

	// The ServiceAccount's rights, as the API server's authorizer sees them.
	as := "--as=system:serviceaccount:" + refreshNamespace + ":" + refreshSA
	for verb, want := range map[string]string{
		"get configmap/" + refreshCatalogCM:                            "yes",
		"update configmap/" + refreshCatalogCM:                         "yes",
		"patch configmap/" + refreshCatalogCM:                          "yes",
		"update configmap/" + refreshRelease + "-quartermaster-config": "no",
		"create configmaps":                                            "no",
		"list configmaps":                                              "no",
		"get secrets":                                                  "no",
	} {
		f := strings.Fields(verb)
		got := strings.TrimSpace(kubectl(t, "auth", "can-i", f[0], f[1], "-n", refreshNamespace, as).stdout)
		if got != want {
			t.Errorf("can %s %s? %q, want %q", refreshSA, verb, got, want)
		}
	}

	// The webhook, reading the catalog file the kubelet keeps in step with the ConfigMap.
	catalogFile := filepath.Join(t.TempDir(), "catalog.csv")
	if err := os.WriteFile(catalogFile, []byte(mustRead(t, seed)), 0o600); err != nil {
		t.Fatal(err)
	}
	wh := startHostWebhook(t, webhookPort(30), "--catalog="+catalogFile, "--catalog-reload-interval=200ms")
	asOf := func() string { return catalogAsOf(t, wh) }
	if got := asOf(); got != seeded.Meta().AsOf {
		t.Fatalf("webhook serves a catalog as of %q, want the seed's %q", got, seeded.Meta().AsOf)
	}

	refresh := refresher(t, refreshNamespace, refreshRelease)

	// A cloud fails: nothing is written, the exit code says so.
	_, _, rvBefore := catalogOf(t)
	r := refresh("aws,azure,gcp", "us-east-1,eastus,us-central1")
	if r.err == nil || !strings.Contains(r.stderr, "configmap "+refreshNamespace+"/"+refreshCatalogCM+" not written") {
		t.Fatalf("refresh with GCP failing: %v\n%s", r.err, r.stderr)
	}
	if _, _, rv := catalogOf(t); rv != rvBefore {
		t.Errorf("the ConfigMap changed (resourceVersion %s → %s) although a cloud failed", rvBefore, rv)
	}

	// Every cloud asked succeeds: the ConfigMap holds exactly the served prices.
	r = refresh("aws,azure", "us-east-1,eastus")
	if r.err != nil || !strings.Contains(r.stderr, "configmap "+refreshNamespace+"/"+refreshCatalogCM+" updated: 2 offers as of 2026-11-29") {
		t.Fatalf("refresh: %v\n%s", r.err, r.stderr)
	}
	cat, data, rv := catalogOf(t)
	prices := map[string]float64{}
	for _, o := range cat.Offers() {
		prices[o.Cloud+"/"+o.Region+"/"+o.InstanceType] = o.PriceHourly
	}
	want := map[string]float64{"aws/us-east-1/p5.48xlarge": 57.1, "azure/eastus/Standard_ND96isr_H100_v5": 98.32}
	if fmt.Sprint(prices) != fmt.Sprint(want) || cat.Meta().AsOf != "2026-11-29" {
		t.Errorf("ConfigMap catalog %v as of %s, want %v as of 2026-11-29", prices, cat.Meta().AsOf, want)
	}

	// An upgrade renders the ConfigMap from the live one (lookup), not from the seed: it keeps the refresh's prices.
	rerendered := helm(t, "template", refreshRelease, filepath.Join(cluster.repo, "charts", "quartermaster"), "-n", refreshNamespace, "--dry-run=server",
		"--set", "catalogRefresh.enabled=true", "--set-file", "catalog="+seed, "--show-only", "templates/catalog-refresh.yaml").must(t, "helm template --dry-run=server")
	if !strings.Contains(rerendered, "2026-11-29") || !strings.Contains(rerendered, "Standard_ND96isr_H100_v5") || strings.Contains(rerendered, "g5.xlarge") {
		t.Errorf("an upgrade would render the seed catalog again instead of the refreshed one:\n%.2000s", rerendered)
	}

	// The same prices again: not rewritten.
	r = refresh("aws,azure", "us-east-1,eastus")
	if r.err != nil || !strings.Contains(r.stderr, "unchanged") {
		t.Fatalf("second refresh: %v\n%s", r.err, r.stderr)
	}
	if _, _, rv2 := catalogOf(t); rv2 != rv {
		t.Errorf("an unchanged catalog was written again (resourceVersion %s → %s)", rv, rv2)
	}

	// The kubelet's part: the ConfigMap's data replaces the mounted file atomically. The webhook reloads it.
	tmp := catalogFile + ".new"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, catalogFile); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the webhook serves the refreshed catalog", func() error {
		if got := asOf(); got != "2026-11-29" {
			return fmt.Errorf("catalog as of %q", got)
		}
		return nil
	})
}

// refresher returns a function that runs qm catalog refresh --configmap into a release's catalog ConfigMap, with its
// refresh ServiceAccount's token, against the price APIs of refreshPriceAPIs, dated 2026-11-29.
func refresher(t *testing.T, ns, release string) func(clouds, regions string) result {
	t.Helper()
	awsURL, azureURL, gcpURL := refreshPriceAPIs(t)
	kubeconfig := serviceAccountKubeconfig(t, ns, release+"-quartermaster-catalog-refresh")
	return func(clouds, regions string) result {
		return run(t, nil, cluster.qm, "catalog", "refresh", "--configmap", ns+"/"+release+"-quartermaster-catalog", "--kubeconfig", kubeconfig,
			"--clouds", clouds, "--regions", regions, "--as-of", "2026-11-29", "--aws-spot=false", "--state", filepath.Join(t.TempDir(), "state.json"),
			"--aws-pricing-url", awsURL, "--azure-prices-url", azureURL, "--gcp-billing-endpoint", gcpURL, "--gcp-api-key", "k")
	}
}

// catalogAsOf is the as-of date of the catalog a webhook serves, from its metrics ("" when none).
func catalogAsOf(t *testing.T, h *hostWebhook) string {
	t.Helper()
	fam := metricFamilies(t, h.metrics(t))["quartermaster_catalog_as_of_timestamp_seconds"]
	if fam == nil || len(fam.Metric) == 0 {
		return ""
	}
	return time.Unix(int64(fam.Metric[0].GetGauge().GetValue()), 0).UTC().Format(time.DateOnly)
}

// TestInClusterCatalogRefresh: the chart on the real node with catalogRefresh.enabled: the webhook pod starts on the
// seed catalog from the projected catalog ConfigMap; a refresh written into that ConfigMap (qm catalog refresh
// --configmap with the refresh's ServiceAccount) reaches the running pod through the real kubelet's projected volume,
// and the webhook's hot reload puts it in service: same pod, no restart.
func TestInClusterCatalogRefresh(t *testing.T) {
	b := builtImage(t)
	p, metricsPort := installOnRealNode(t, b, "--set", "catalogRefresh.enabled=true", "--set", "catalogRefresh.schedule=0 0 1 1 *")
	inPod := &hostWebhook{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	seed, err := costing.ReadCSV(strings.NewReader(mustRead(t, restrictedCatalog(t))), nil, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if got := catalogAsOf(t, inPod); got != seed.Meta().AsOf {
		t.Fatalf("the webhook pod serves a catalog as of %q, want the seed's %q", got, seed.Meta().AsOf)
	}
	refresh := refresher(t, inClusterNamespace, inClusterRelease)
	start := time.Now()
	if r := refresh("aws,azure", "us-east-1,eastus"); r.err != nil || !strings.Contains(r.stderr, "updated: 2 offers as of 2026-11-29") {
		t.Fatalf("refresh: %v\n%s", r.err, r.stderr)
	}
	eventually(t, 3*time.Minute, "the webhook pod serves the refreshed catalog", func() error {
		if got := catalogAsOf(t, inPod); got != "2026-11-29" {
			return fmt.Errorf("catalog as of %q", got)
		}
		return nil
	})
	t.Logf("the refreshed catalog in service %s after the ConfigMap was written (kubelet sync + reload interval)", time.Since(start).Round(100*time.Millisecond))
	var pods struct{ Items []webhookPod }
	getJSON(t, &pods, "pods", "-n", inClusterNamespace, "-l", "app.kubernetes.io/component=webhook")
	if len(pods.Items) != 1 || pods.Items[0].Metadata.UID != p.Metadata.UID || pods.Items[0].Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("webhook pods %+v: want the same pod, never restarted", pods.Items)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func clientcmdTokenAuth(token string) *clientcmdapi.AuthInfo {
	return &clientcmdapi.AuthInfo{Token: token}
}
