package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// priceAPIs are minimal httptest servers in each cloud's wire format; the
// adapters' own tests cover the formats in depth.
func priceAPIs(t *testing.T, gcpStatus int) (awsURL, azureURL, gcpURL string) {
	t.Helper()
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/offers/v1.0/aws/AmazonEC2/current/region_index.json":
			_, _ = w.Write([]byte(`{"formatVersion":"v1.0","regions":{"us-east-1":{"regionCode":"us-east-1","currentVersionUrl":"/offers/v1.0/aws/AmazonEC2/20261101000000/us-east-1/index.json"}}}`))
		case "/offers/v1.0/aws/AmazonEC2/20261101000000/us-east-1/index.json":
			_, _ = w.Write([]byte(`{"formatVersion":"v1.0","offerCode":"AmazonEC2","version":"20261101000000","products":{
"S1":{"sku":"S1","productFamily":"Compute Instance","attributes":{"instanceType":"p5.48xlarge","locationType":"AWS Region","regionCode":"us-east-1",
"vcpu":"192","memory":"2,048 GiB","gpu":"8","gpuMemory":"640 GB","operatingSystem":"Linux","tenancy":"Shared","preInstalledSw":"NA",
"capacitystatus":"Used","marketoption":"OnDemand","usagetype":"BoxUsage:p5.48xlarge","licenseModel":"No License required"}}},
"terms":{"OnDemand":{"S1":{"S1.JRTCKXETXF":{"offerTermCode":"JRTCKXETXF","sku":"S1","priceDimensions":{"S1.JRTCKXETXF.6YS6EN2CT7":
{"unit":"Hrs","beginRange":"0","endRange":"Inf","pricePerUnit":{"USD":"57.1000000000"}}}}}}}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(aws.Close)
	azure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"BillingCurrency":"USD","Items":[{"currencyCode":"USD","retailPrice":98.32,"armRegionName":"eastus",
"effectiveStartDate":"2024-05-01T00:00:00Z","meterName":"ND96isr H100 v5","productName":"Virtual Machines NDsr H100 v5 Series",
"skuName":"ND96isr H100 v5","serviceName":"Virtual Machines","unitOfMeasure":"1 Hour","type":"Consumption","armSkuName":"Standard_ND96isr_H100_v5"}],
"NextPageLink":null,"Count":1}`))
	}))
	t.Cleanup(azure.Close)
	gcp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(gcpStatus)
		_, _ = w.Write([]byte(`{"error":{"code":403,"message":"API key not valid.","status":"PERMISSION_DENIED"}}`))
	}))
	t.Cleanup(gcp.Close)
	return aws.URL, azure.URL, gcp.URL + "/"
}

func TestCatalogRefresh(t *testing.T) {
	awsURL, azureURL, gcpURL := priceAPIs(t, http.StatusForbidden)
	dir := t.TempDir()
	out, state := filepath.Join(dir, "catalog.csv"), filepath.Join(dir, "state.json")
	args := []string{"catalog", "refresh", "--regions", "us-east-1,eastus,us-central1", "--out", out, "--state", state, "--as-of", "2026-11-29",
		"--aws-spot=false", "--aws-pricing-url", awsURL, "--azure-prices-url", azureURL, "--gcp-billing-endpoint", gcpURL, "--gcp-api-key", "k"}

	// GCP fails: the others' rows are written, the exit code says so.
	code, _, errOut := runQM(t, "", args...)
	if code != exitInput || !strings.Contains(errOut, "refreshing gcp prices") || !strings.Contains(errOut, "API key not valid") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, w := range []string{"aws: 1 rows from 1 regions", "azure: 1 rows from 1 regions", "gcp: 0 rows", "FAILED", "refresh took"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("summary lacks %q:\n%s", w, errOut)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := costing.ReadCSV(f, nil, out)
	f.Close()
	if err != nil {
		t.Fatalf("the refreshed catalog does not read back: %v", err)
	}
	if cat.Len() != 2 || cat.Meta().AsOf != "2026-11-29" {
		t.Fatalf("catalog of %d offers as of %q", cat.Len(), cat.Meta().AsOf)
	}
	for _, o := range cat.Offers() {
		switch o.InstanceType {
		case "p5.48xlarge":
			if o.PriceHourly != 57.1 || o.Source != "aws-price-list/20261101000000" || !o.HasCapability("efa") {
				t.Errorf("aws offer %+v", o)
			}
		case "Standard_ND96isr_H100_v5":
			if o.PriceHourly != 98.32 || o.Source != "azure-retail-prices" || o.VCPUs != 96 {
				t.Errorf("azure offer %+v", o)
			}
		}
	}

	// Again, without GCP: the AWS region is unchanged and not downloaded.
	args[3] = "us-east-1,eastus"
	code, _, errOut = runQM(t, "", append(args, "--clouds", "aws,azure")...)
	if code != exitOK || !strings.Contains(errOut, "1 unchanged since the last refresh (us-east-1)") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}

	// diff against the embedded catalog's us-east-1 and eastus offers.
	code, stdout, errOut := runQM(t, "", "catalog", "list", "-o", "csv", "--cloud", "aws")
	if code != exitOK {
		t.Fatal(errOut)
	}
	old := writeFile(t, "old.csv", stdout)
	code, stdout, errOut = runQM(t, "", "catalog", "diff", old, out, "-o", "json")
	if code != exitOK {
		t.Fatalf("diff: exit %d: %s", code, errOut)
	}
	var changes []map[string]any
	if err := json.Unmarshal([]byte(stdout), &changes); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range changes {
		if c["kind"] == "changed" && c["region"] == "us-east-1" && c["instanceType"] == "p5.48xlarge" {
			found = c["oldPrice"] == 55.04 && c["newPrice"] == 57.1 && c["pricePct"] == 3.74
		}
	}
	if !found {
		t.Errorf("diff lacks p5.48xlarge 55.04 → 57.1 (+3.74%%):\n%s", stdout)
	}
	code, stdout, _ = runQM(t, "", "catalog", "diff", old, out)
	if code != exitOK || !strings.Contains(stdout, "55.04 → 57.1 (+3.74%)") || !strings.Contains(stdout, "27.52 → -") || !strings.Contains(stdout, "added") || !strings.Contains(stdout, "removed") {
		t.Errorf("diff table:\n%s", stdout)
	}
}

func TestCatalogRefreshFlags(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"no out":                      {[]string{"catalog", "refresh"}, "--out or --configmap is required"},
		"configmap without namespace": {[]string{"catalog", "refresh", "--configmap", "qm-catalog"}, `--configmap "qm-catalog": want NAMESPACE/NAME`},
		"configmap bad name":          {[]string{"catalog", "refresh", "--configmap", "qm/Not_A_Name"}, `--configmap "qm/Not_A_Name"`},
		"kubeconfig alone":            {[]string{"catalog", "refresh", "--out", "-", "--kubeconfig", "k.yaml"}, "--kubeconfig is for --configmap's cluster"},
		"unknown cloud":               {[]string{"catalog", "refresh", "--out", "-", "--clouds", "oci"}, `cloud "oci"`},
		"unknown region":              {[]string{"catalog", "refresh", "--out", "-", "--regions", "mars-1"}, `region "mars-1"`},
		"bad date":                    {[]string{"catalog", "refresh", "--out", "-", "--as-of", "29/11/2026"}, "--as-of"},
		"diff one file":               {[]string{"catalog", "diff", "a.csv"}, "accepts 2 arg(s)"},
		"diff output":                 {[]string{"catalog", "diff", "a.csv", "b.csv", "-o", "xml"}, `output "xml"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := runQM(t, "", tc.args...)
			if code != exitInput || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q: want %d and %q", code, errOut, exitInput, tc.want)
			}
		})
	}
}
