package azureprice

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// itemJSON is one meter in the Retail Prices API's shape.
func itemJSON(region, armSku, skuName, productName, typ string, price float64, since string) string {
	return fmt.Sprintf(`{"currencyCode":"USD","tierMinimumUnits":0.0,"retailPrice":%v,"unitPrice":%v,"armRegionName":"%s",`+
		`"location":"US East","effectiveStartDate":"%s","meterId":"0b4d52b9-5c7f-5b39-a4b1-2a2a1c3a8f7e","meterName":"%s",`+
		`"productId":"DZH318Z0B8ZG","skuId":"DZH318Z0B8ZG/00F6","productName":"%s","skuName":"%s",`+
		`"serviceName":"Virtual Machines","serviceId":"DZH313Z7MMC8","serviceFamily":"Compute","unitOfMeasure":"1 Hour",`+
		`"type":"%s","isPrimaryMeterRegion":true,"armSkuName":"%s"}`, price, price, region, since, skuName, productName, skuName, typ, armSku)
}

func pageJSON(next string, items ...string) string {
	return fmt.Sprintf(`{"BillingCurrency":"USD","CustomerEntityId":"Default","CustomerEntityType":"Retail","Items":[%s],"NextPageLink":%s,"Count":%d}`,
		strings.Join(items, ","), next, len(items))
}

// retailAPI serves two pages per region and throttles the first request
// for page 2 with a 429 and Retry-After.
type retailAPI struct {
	mu         sync.Mutex
	url        string
	retryAfter string
	throttled  int
	requests   []string
}

func (a *retailAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r.URL.RawQuery)
	filter := r.URL.Query().Get("$filter")
	_, region, _ := strings.Cut(filter, "armRegionName eq '")
	region = strings.TrimSuffix(region, "'")
	if !strings.HasPrefix(filter, "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '") {
		http.Error(w, `{"Error":{"Code":"InvalidFilter"}}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	skip := r.URL.Query().Get("$skip")
	if skip == "" {
		next := fmt.Sprintf(`"%s?$filter=%s&$skip=1000"`, a.url, strings.ReplaceAll(r.URL.Query().Get("$filter"), " ", "%20"))
		_, _ = w.Write([]byte(pageJSON(next,
			itemJSON(region, "Standard_ND96isr_H100_v5", "ND96isr H100 v5", "Virtual Machines NDsr H100 v5 Series", "Consumption", 98.32, "2024-05-01T00:00:00Z"),
			itemJSON(region, "Standard_ND96isr_H100_v5", "ND96isr H100 v5", "Virtual Machines NDsr H100 v5 Series Windows", "Consumption", 112.0, "2024-05-01T00:00:00Z"),
			itemJSON(region, "Standard_ND96isr_H100_v5", "ND96isr H100 v5 Low Priority", "Virtual Machines NDsr H100 v5 Series", "Consumption", 19.66, "2024-05-01T00:00:00Z"),
			itemJSON(region, "Standard_ND96isr_H100_v5", "ND96isr H100 v5", "Virtual Machines NDsr H100 v5 Series", "DevTestConsumption", 80.0, "2024-05-01T00:00:00Z"),
			itemJSON(region, "Standard_NC4as_T4_v3", "NC4as T4 v3", "Virtual Machines NCasT4_v3 Series", "Consumption", 0.526, "2023-01-01T00:00:00Z"),
			// A newer price of the same meter wins.
			itemJSON(region, "Standard_NC4as_T4_v3", "NC4as T4 v3", "Virtual Machines NCasT4_v3 Series", "Consumption", 0.55, "2026-10-01T00:00:00Z"),
			itemJSON(region, "Standard_D4s_v5", "D4s v5", "Virtual Machines Dsv5 Series", "Consumption", 0.192, "2023-01-01T00:00:00Z"),
		)))
		return
	}
	if a.throttled == 0 {
		a.throttled++
		w.Header().Set("Retry-After", a.retryAfter)
		w.Header().Set("x-ms-ratelimit-remaining-retailPrices-requests", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"Error":{"Code":"TooManyRequests","Message":"Too many requests. Please retry after 1 seconds."}}`))
		return
	}
	_, _ = w.Write([]byte(pageJSON("null",
		itemJSON(region, "Standard_ND96isr_H100_v5", "ND96isr H100 v5 Spot", "Virtual Machines NDsr H100 v5 Series", "Consumption", 39.33, "2024-05-01T00:00:00Z"),
		itemJSON(region, "Standard_NC4as_T4_v3", "NC4as T4 v3 Spot", "Virtual Machines NCasT4_v3 Series Windows", "Consumption", 0.3, "2024-05-01T00:00:00Z"),
		// A GPU size the embedded catalog does not list: reported.
		itemJSON(region, "Standard_NC8as_T4_v3", "NC8as T4 v3", "Virtual Machines NCasT4_v3 Series", "Consumption", 0.752, "2023-01-01T00:00:00Z"),
		// Another region's meter on this region's page is not this region's.
		itemJSON("westus", "Standard_ND96isr_H100_v5", "ND96isr H100 v5", "Virtual Machines NDsr H100 v5 Series", "Consumption", 1.0, "2024-05-01T00:00:00Z"),
	)))
}

func azureShapes(t *testing.T) []costing.Offer {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return pricing.CloudShapes(cat, costing.Azure)
}

func TestFetch(t *testing.T) {
	api := &retailAPI{retryAfter: "1"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.url = srv.URL
	src := New(Config{URL: srv.URL, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second})
	start := time.Now()
	res, err := src.Fetch(context.Background(), pricing.Request{Regions: []string{"eastus"}, Shapes: azureShapes(t)})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// Retry-After: 1 was waited for, and only that.
	if elapsed < time.Second || elapsed > 5*time.Second {
		t.Errorf("took %s: want the 1 s Retry-After honoured and no more", elapsed)
	}
	if api.throttled != 1 || len(api.requests) != 3 {
		t.Errorf("requests %d (throttled %d), want page 1, the 429 and page 2 again", len(api.requests), api.throttled)
	}
	want := map[string]costing.Offer{
		"Standard_ND96isr_H100_v5": {GPUModel: costing.H100, GPUCount: 8, PriceHourly: 98.32, SpotPriceHourly: 39.33},
		// The Windows spot meter is not this size's spot price.
		"Standard_NC4as_T4_v3": {GPUModel: costing.T4, GPUCount: 1, PriceHourly: 0.55},
	}
	if len(res.Offers) != len(want) {
		t.Errorf("offers %+v, want %d", res.Offers, len(want))
	}
	for _, o := range res.Offers {
		w := want[o.InstanceType]
		if o.Region != "eastus" || o.GPUModel != w.GPUModel || o.GPUCount != w.GPUCount || o.PriceHourly != w.PriceHourly ||
			o.SpotPriceHourly != w.SpotPriceHourly || o.Source != "azure-retail-prices" {
			t.Errorf("%s = %+v, want %+v", o.InstanceType, o, w)
		}
	}
	if len(res.Skipped) != 1 || res.Skipped[0].What != "Standard_NC8as_T4_v3" {
		t.Errorf("skipped %+v, want the NC8as_T4_v3 size reported", res.Skipped)
	}
}

// TestFetchThrottledTooLong: a Retry-After beyond the cap is not waited
// for; the error names the cloud, the region and the URL, and the other
// region is still priced.
func TestFetchThrottledTooLong(t *testing.T) {
	api := &retailAPI{retryAfter: "600"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.url = srv.URL
	src := New(Config{URL: srv.URL, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: time.Second, Concurrency: 1})
	start := time.Now()
	res, err := src.Fetch(context.Background(), pricing.Request{Regions: []string{"eastus", "westeurope"}, Shapes: azureShapes(t)})
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %s for a Retry-After over the cap", time.Since(start))
	}
	if err == nil || !strings.Contains(err.Error(), "azure ") || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "429") {
		t.Fatalf("err = %v, want azure, the region, the URL and the 429", err)
	}
	regions := map[string]bool{}
	for _, o := range res.Offers {
		regions[o.Region] = true
	}
	if len(regions) != 1 {
		t.Errorf("offers of %v: want the region that was not throttled priced", regions)
	}
}

func TestItemKind(t *testing.T) {
	base := Item{CurrencyCode: "USD", RetailPrice: 1, ArmRegionName: "eastus", ServiceName: "Virtual Machines",
		UnitOfMeasure: "1 Hour", Type: "Consumption", ArmSkuName: "Standard_NC4as_T4_v3", SkuName: "NC4as T4 v3",
		ProductName: "Virtual Machines NCasT4_v3 Series"}
	tests := map[string]struct {
		edit func(*Item)
		want string
	}{
		"on demand":    {func(*Item) {}, meterOnDemand},
		"spot":         {func(i *Item) { i.SkuName += " Spot" }, meterSpot},
		"low priority": {func(i *Item) { i.SkuName += " Low Priority" }, ""},
		"windows":      {func(i *Item) { i.ProductName += " Windows" }, ""},
		"reservation":  {func(i *Item) { i.Type = "Reservation" }, ""},
		"per month":    {func(i *Item) { i.UnitOfMeasure = "1/Month" }, ""},
		"free":         {func(i *Item) { i.RetailPrice = 0 }, ""},
		"other money":  {func(i *Item) { i.CurrencyCode = "EUR" }, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			it := base
			tc.edit(&it)
			if got := it.Kind(); got != tc.want {
				t.Errorf("Kind() = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzParsePage: any page parses or fails with an error, and what Kind
// accepts has a positive, finite price.
func FuzzParsePage(f *testing.F) {
	f.Add([]byte(pageJSON("null", itemJSON("eastus", "Standard_ND96isr_H100_v5", "ND96isr H100 v5", "Virtual Machines NDsr H100 v5 Series", "Consumption", 98.32, "2024-05-01T00:00:00Z"))))
	f.Add([]byte(`{"Items":[{"retailPrice":1e308}],"NextPageLink":""}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParsePage(in)
		if err != nil {
			return
		}
		for _, it := range p.Items {
			if k := it.Kind(); k != "" && (!(it.RetailPrice > 0) || it.RetailPrice > 1e6 || !slices.Contains([]string{meterOnDemand, meterSpot}, k)) {
				t.Fatalf("accepted %+v as %s", it, k)
			}
		}
	})
}
