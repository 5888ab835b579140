package gcpprice

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/api/option"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// skuJSON is one SKU in the Cloud Billing Catalog API's shape.
func skuJSON(id, description, group, usageType, unit string, units, nanos int64, regions ...string) string {
	return fmt.Sprintf(`{
  "name": "services/6F81-5844-456A/skus/%s",
  "skuId": "%s",
  "description": "%s",
  "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute", "resourceGroup": "%s", "usageType": "%s"},
  "serviceRegions": ["%s"],
  "pricingInfo": [{
    "summary": "",
    "pricingExpression": {
      "usageUnit": "%s", "displayQuantity": 1, "usageUnitDescription": "hour",
      "baseUnit": "s", "baseUnitDescription": "second", "baseUnitConversionFactor": 3600,
      "tieredRates": [{"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "units": "%d", "nanos": %d}}]
    },
    "currencyConversionRate": 1,
    "effectiveTime": "2026-11-28T10:42:08.151Z"
  }],
  "serviceProviderName": "Google",
  "geoTaxonomy": {"type": "REGIONAL", "regions": ["%s"]}
}`, id, id, description, group, usageType, strings.Join(regions, `", "`), unit, units, nanos, strings.Join(regions, `", "`))
}

var skuPages = [][]string{
	{
		skuJSON("T4-OD", "Nvidia Tesla T4 GPU running in Americas", "GPU", "OnDemand", "h", 0, 350000000, "us-central1", "us-east1"),
		skuJSON("T4-SPOT", "Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas", "GPU", "Preemptible", "h", 0, 140000000, "us-central1"),
		skuJSON("T4-CUD", "Commitment v1: Nvidia Tesla T4 GPU running in Americas", "GPU", "Commit1Yr", "h", 0, 220000000, "us-central1"),
		skuJSON("N1-CORE", "N1 Predefined Instance Core running in Americas", "N1Standard", "OnDemand", "h", 0, 31611000, "us-central1"),
		skuJSON("N1-RAM", "N1 Predefined Instance Ram running in Americas", "N1Standard", "OnDemand", "GiBy.h", 0, 4237000, "us-central1"),
		skuJSON("N1-CORE-SPOT", "Spot Preemptible N1 Predefined Instance Core running in Americas", "N1Standard", "Preemptible", "h", 0, 6640000, "us-central1"),
		skuJSON("N1-RAM-SPOT", "Spot Preemptible N1 Predefined Instance Ram running in Americas", "N1Standard", "Preemptible", "GiBy.h", 0, 890000, "us-central1"),
	},
	{
		skuJSON("A100-OD", "Nvidia Tesla A100 GPU running in Americas", "GPU", "OnDemand", "h", 2, 933908000, "us-central1"),
		// Dynamic Workload Scheduler prices are not on-demand prices.
		skuJSON("A100-DWS", "DWS Defined Duration Nvidia Tesla A100 GPU running in Americas", "GPU", "OnDemand", "h", 1, 0, "us-central1"),
		skuJSON("A2-CORE", "A2 Instance Core running in Americas", "CPU", "OnDemand", "h", 0, 31611000, "us-central1"),
		skuJSON("A2-RAM", "A2 Instance Ram running in Americas", "RAM", "OnDemand", "GiBy.h", 0, 4237000, "us-central1"),
		skuJSON("P4-OD", "Nvidia Tesla P4 GPU running in Americas", "GPU", "OnDemand", "h", 0, 600000000, "us-central1"),
		// Priced per month, not per hour: not a machine's hourly part.
		skuJSON("A2-RAM-MO", "A2 Instance Ram running in Americas", "RAM", "OnDemand", "GiBy.mo", 3, 0, "us-central1"),
		skuJSON("LIC", "Licensing Fee for SUSE Linux Enterprise Server on VM with 8 VCPU", "License", "OnDemand", "h", 0, 500000000, "us-central1"),
	},
}

// billingAPI serves the SKU pages with nextPageToken, recording requests.
type billingAPI struct {
	mu       sync.Mutex
	requests []string
}

func (b *billingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.requests = append(b.requests, r.URL.Path+"?"+r.URL.RawQuery)
	b.mu.Unlock()
	if r.URL.Path != "/v1/services/6F81-5844-456A/skus" {
		http.Error(w, `{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch r.URL.Query().Get("pageToken") {
	case "":
		fmt.Fprintf(w, `{"skus": [%s], "nextPageToken": "tok-2"}`, strings.Join(skuPages[0], ","))
	case "tok-2":
		fmt.Fprintf(w, `{"skus": [%s], "nextPageToken": ""}`, strings.Join(skuPages[1], ","))
	default:
		http.Error(w, `{"error":{"code":400,"message":"bad token","status":"INVALID_ARGUMENT"}}`, http.StatusBadRequest)
	}
}

func gcpShapes(t *testing.T) []costing.Offer {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return pricing.CloudShapes(cat, costing.GCP)
}

func TestFetch(t *testing.T) {
	api := &billingAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	src := New(Config{Options: []option.ClientOption{option.WithEndpoint(srv.URL + "/"), option.WithAPIKey("test-key")}})
	res, err := src.Fetch(context.Background(), pricing.Request{Regions: []string{"us-central1"}, Shapes: gcpShapes(t)})
	if err != nil {
		t.Fatal(err)
	}
	// GPUs × GPU SKU + vCPUs × core SKU + GiB × RAM SKU.
	want := map[string][2]float64{
		"n1-standard-8 T4":   {0.35 + 8*0.031611 + 30*0.004237, 0.14 + 8*0.00664 + 30*0.00089}, // 0.729998, 0.21982
		"n1-standard-32 T4":  {2.919992, 0.87928},                                              // 4 T4, 32 vCPUs, 120 GiB
		"a2-highgpu-1g A100": {3.673385, 0},                                                    // no spot SKUs
		"a2-highgpu-8g A100": {29.38708, 0},
	}
	got := map[string][2]float64{}
	for _, o := range res.Offers {
		got[o.InstanceType+" "+o.GPUModel] = [2]float64{o.PriceHourly, o.SpotPriceHourly}
		if o.Source != "gcp-cloud-billing" || o.Region != "us-central1" || o.VCPUs == 0 || o.MemoryGiB == 0 {
			t.Errorf("offer %+v", o)
		}
	}
	if len(got) != len(want) {
		t.Errorf("priced %v, want %v", got, want)
	}
	for k, w := range want {
		w[0], w[1] = round(w[0]), round(w[1])
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if want := []string{"Nvidia P4"}; !slices.Equal(res.UnknownGPUs, want) {
		t.Errorf("unknown GPUs %v, want %v", res.UnknownGPUs, want)
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.What+": "+s.Reason)
	}
	for _, w := range []string{"n1-standard-8 V100: no SKU for V100 GPU in the region", "a3-highgpu-8g H100: no SKU for H100 GPU in the region",
		"g2-standard-4 L4: no SKU for L4 GPU in the region"} {
		if !slices.Contains(skipped, w) {
			t.Errorf("skipped %q missing from %q", w, skipped)
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.requests) != 2 || !strings.Contains(api.requests[1], "pageToken=tok-2") {
		t.Errorf("requests %q: want two pages, the second by its token", api.requests)
	}
	for _, r := range api.requests {
		if !strings.Contains(r, "key=test-key") || !strings.Contains(r, "currencyCode=USD") || !strings.Contains(r, "pageSize=5000") {
			t.Errorf("request %q: want the API key, USD and pages of 5000", r)
		}
	}
}

// TestFetchFails: an API error names the cloud, the service, the URL and
// the page.
func TestFetchFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":403,"message":"API key not valid.","status":"PERMISSION_DENIED"}}`))
	}))
	defer srv.Close()
	src := New(Config{Options: []option.ClientOption{option.WithEndpoint(srv.URL + "/"), option.WithAPIKey("bad")}})
	_, err := src.Fetch(context.Background(), pricing.Request{Regions: []string{"us-central1"}, Shapes: gcpShapes(t)})
	if err == nil || !strings.Contains(err.Error(), "gcp: listing SKUs of services/6F81-5844-456A at "+srv.URL) || !strings.Contains(err.Error(), "API key not valid") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzSKUPage: any page parses or fails with an error; the table built from
// it never panics and prices nothing negative or non-finite.
func FuzzSKUPage(f *testing.F) {
	f.Add([]byte(`{"skus": [` + strings.Join(skuPages[0], ",") + `], "nextPageToken": "t"}`))
	f.Add([]byte(`{"skus": [` + strings.Join(skuPages[1], ",") + `]}`))
	f.Add([]byte(`{"skus": [{"category": {"resourceFamily": "Compute", "usageType": "OnDemand"}, "description": "Nvidia H100 80GB GPU running in Americas", "pricingInfo": [null]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParsePage(in)
		if err != nil {
			return
		}
		table := NewTable()
		for _, s := range p.Skus {
			table.Add(s)
		}
		for region := range table.prices {
			for _, shape := range [][2]string{{"n1-standard-8", costing.T4}, {"a2-highgpu-1g", costing.A100}, {"a3-highgpu-8g", costing.H100}} {
				for _, spot := range []bool{false, true} {
					price, missing := table.Price(region, shape[0], shape[1], 1, 8, 30, spot)
					if missing == "" && !(price > 0 && price < 1e8) {
						t.Fatalf("%s %v: price %v", region, shape, price)
					}
				}
			}
		}
	})
}
