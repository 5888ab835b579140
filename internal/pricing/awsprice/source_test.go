package awsprice

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// bulkAPI is an httptest Price List bulk API: region_index.json and one
// offer file per region, counting downloads.
type bulkAPI struct {
	mu        sync.Mutex
	versions  map[string]string
	prices    map[string]string // p5.48xlarge USD per region
	fail      map[string]bool   // regions whose offer file answers 500
	downloads map[string]int
}

func (b *bulkAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.URL.Path == indexPath {
		_, _ = w.Write([]byte(regionIndexJSON(b.versions)))
		return
	}
	// /offers/v1.0/aws/AmazonEC2/<version>/<region>/index.json
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 7 || parts[6] != "index.json" {
		http.NotFound(w, r)
		return
	}
	version, region := parts[4], parts[5]
	if b.versions[region] != version {
		http.NotFound(w, r)
		return
	}
	if b.fail[region] {
		http.Error(w, "<Error><Code>InternalError</Code></Error>", http.StatusInternalServerError)
		return
	}
	b.downloads[region]++
	_, _ = w.Write([]byte(offerFileJSON(region, version, b.prices[region])))
}

// spotAPI is an httptest EC2 endpoint answering DescribeSpotPriceHistory
// in the Query protocol, two pages per region, recording the requests.
type spotAPI struct {
	mu    sync.Mutex
	forms []map[string][]string
}

func (s *spotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	s.mu.Unlock()
	if r.PostForm.Get("Action") != "DescribeSpotPriceHistory" {
		http.Error(w, "<Response><Errors><Error><Code>InvalidAction</Code></Error></Errors></Response>", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	region := strings.Trim(r.URL.Path, "/")
	if region != "us-east-1" {
		_, _ = w.Write([]byte(spotPageXML(nil, "")))
		return
	}
	const ts = "2026-11-28T10:00:00.000Z"
	if r.PostForm.Get("NextToken") == "" {
		_, _ = w.Write([]byte(spotPageXML([]spotItem{
			{"p5.48xlarge", "us-east-1a", "30.000000", ts},
			{"p5.48xlarge", "us-east-1a", "32.000000", ts},
			{"p5.48xlarge", "us-east-1b", "28.000000", ts},
			{"g6.xlarge", "us-east-1a", "0.400000", ts},
		}, "page2")))
		return
	}
	_, _ = w.Write([]byte(spotPageXML([]spotItem{
		{"p5.48xlarge", "us-east-1b", "31.000000", ts},
		{"p5.48xlarge", "us-east-1a", "29.000000", ts},
		{"g6.xlarge", "us-east-1b", "0.300000", ts},
		// 90% off is not a price: at or above on-demand is, and Refresh
		// drops it; a price is a price here.
	}, "")))
}

func newSpotClient(url string) func(region string) SpotAPI {
	return func(region string) SpotAPI {
		return ec2.New(ec2.Options{Region: region, BaseEndpoint: aws.String(url + "/" + region), Credentials: aws.AnonymousCredentials{},
			RetryMaxAttempts: 1})
	}
}

func awsShapes(t *testing.T) []costing.Offer {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var out []costing.Offer
	for _, o := range cat.Offers() {
		if o.Cloud == costing.AWS {
			out = append(out, o)
		}
	}
	return out
}

func newBulk() *bulkAPI {
	return &bulkAPI{
		versions:  map[string]string{"us-east-1": "20261101000000", "eu-west-1": "20261101000000"},
		prices:    map[string]string{"us-east-1": "55.0400000000", "eu-west-1": "61.2100000000"},
		fail:      map[string]bool{},
		downloads: map[string]int{},
	}
}

func byKey(offers []costing.Offer) map[string]costing.Offer {
	m := map[string]costing.Offer{}
	for _, o := range offers {
		m[o.Region+"/"+o.Zone+"/"+o.InstanceType] = o
	}
	return m
}

func TestFetch(t *testing.T) {
	bulk := newBulk()
	bulkSrv := httptest.NewServer(bulk)
	defer bulkSrv.Close()
	spot := &spotAPI{}
	spotSrv := httptest.NewServer(spot)
	defer spotSrv.Close()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

	tests := map[string]struct {
		zones bool
		want  map[string]costing.Offer // by region/zone/instance type: the fields checked
	}{
		"per region": {
			want: map[string]costing.Offer{
				// Median of 30, 32, 28, 31, 29.
				"us-east-1//p5.48xlarge": {GPUModel: costing.H100, GPUCount: 8, GPUMemoryGiB: 80, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 55.04, SpotPriceHourly: 30},
				// Median of 0.4 and 0.3.
				"us-east-1//g6.xlarge": {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8048, SpotPriceHourly: 0.35},
				// Not in the embedded catalog: the family names the GPU, the
				// file the shape.
				"us-east-1//g6.2xlarge":  {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 8, MemoryGiB: 32, PriceHourly: 0.9776},
				"eu-west-1//p5.48xlarge": {GPUModel: costing.H100, GPUCount: 8, GPUMemoryGiB: 80, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 61.21},
				"eu-west-1//g6.xlarge":   {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8048},
				"eu-west-1//g6.2xlarge":  {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 8, MemoryGiB: 32, PriceHourly: 0.9776},
			},
		},
		"per zone": {
			zones: true,
			want: map[string]costing.Offer{
				// 1a: 30, 32, 29; 1b: 28, 31.
				"us-east-1/us-east-1a/p5.48xlarge": {GPUModel: costing.H100, GPUCount: 8, GPUMemoryGiB: 80, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 55.04, SpotPriceHourly: 30},
				"us-east-1/us-east-1b/p5.48xlarge": {GPUModel: costing.H100, GPUCount: 8, GPUMemoryGiB: 80, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 55.04, SpotPriceHourly: 29.5},
				"us-east-1/us-east-1a/g6.xlarge":   {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8048, SpotPriceHourly: 0.4},
				"us-east-1/us-east-1b/g6.xlarge":   {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8048, SpotPriceHourly: 0.3},
				"us-east-1//g6.2xlarge":            {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 8, MemoryGiB: 32, PriceHourly: 0.9776},
				"eu-west-1//p5.48xlarge":           {GPUModel: costing.H100, GPUCount: 8, GPUMemoryGiB: 80, VCPUs: 192, MemoryGiB: 2048, PriceHourly: 61.21},
				"eu-west-1//g6.xlarge":             {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8048},
				"eu-west-1//g6.2xlarge":            {GPUModel: costing.L4, GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 8, MemoryGiB: 32, PriceHourly: 0.9776},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spot.mu.Lock()
			spot.forms = nil
			spot.mu.Unlock()
			src := New(Config{BaseURL: bulkSrv.URL, Spot: newSpotClient(spotSrv.URL), Zones: tc.zones, Now: func() time.Time { return now }})
			res, err := src.Fetch(context.Background(), pricing.Request{Regions: []string{"us-east-1", "eu-west-1", "ap-south-1"}, Shapes: awsShapes(t)})
			if err != nil {
				t.Fatal(err)
			}
			got := byKey(res.Offers)
			if len(got) != len(tc.want) {
				t.Errorf("got %d offers, want %d: %v", len(got), len(tc.want), slices.Sorted(maps.Keys(got)))
			}
			for k, w := range tc.want {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s missing", k)
					continue
				}
				if g.GPUModel != w.GPUModel || g.GPUCount != w.GPUCount || g.GPUMemoryGiB != w.GPUMemoryGiB || g.VCPUs != w.VCPUs ||
					g.MemoryGiB != w.MemoryGiB || g.PriceHourly != w.PriceHourly || g.SpotPriceHourly != w.SpotPriceHourly {
					t.Errorf("%s = %+v, want %+v", k, g, w)
				}
				if !strings.HasPrefix(g.Source, "aws-price-list/20261101000000") {
					t.Errorf("%s source %q", k, g.Source)
				}
			}
			if !slices.Contains(res.UnknownGPUs, "NVIDIA T4G (g5g)") {
				t.Errorf("unknown GPUs %v: want the g5g's T4G reported", res.UnknownGPUs)
			}
			wantSkips := []string{"ap-south-1  not in region_index.json", "us-east-1 g6f.large a fraction of a GPU", "us-east-1 g5g.xlarge unknown GPU: NVIDIA T4G (g5g)"}
			var skips []string
			for _, s := range res.Skipped {
				skips = append(skips, s.Region+" "+s.What+" "+s.Reason)
			}
			for _, w := range wantSkips {
				if !slices.Contains(skips, w) {
					t.Errorf("skipped %q missing from %q", w, skips)
				}
			}
			// Two pages per region, the second asked with the first's token,
			// for Linux/UNIX only, within the window.
			spot.mu.Lock()
			defer spot.mu.Unlock()
			var tokens []string
			for _, f := range spot.forms {
				if got := f["ProductDescription.1"]; len(got) != 1 || got[0] != "Linux/UNIX" {
					t.Errorf("ProductDescription.1 = %v", got)
				}
				if got := f["StartTime"]; len(got) != 1 || got[0] != "2026-11-22T12:00:00Z" {
					t.Errorf("StartTime = %v, want seven days before now", got)
				}
				tokens = append(tokens, strings.Join(f["NextToken"], ""))
			}
			slices.Sort(tokens)
			if want := []string{"", "", "page2"}; !slices.Equal(tokens, want) {
				t.Errorf("NextTokens sent %q, want %q (us-east-1 two pages, eu-west-1 one)", tokens, want)
			}
		})
	}
}

// TestFetchSkipsUnchangedRegion: a region whose version in
// region_index.json is the state file's is not downloaded again, and its
// offers come from the state; a new version is downloaded.
func TestFetchSkipsUnchangedRegion(t *testing.T) {
	bulk := newBulk()
	srv := httptest.NewServer(bulk)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "state.json")
	req := pricing.Request{Regions: []string{"us-east-1", "eu-west-1"}, Shapes: awsShapes(t)}
	refresh := func() pricing.Result {
		t.Helper()
		state, err := LoadState(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := New(Config{BaseURL: srv.URL, State: state}).Fetch(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if err := state.Save(path); err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := refresh()
	if bulk.downloads["us-east-1"] != 1 || bulk.downloads["eu-west-1"] != 1 || len(first.Unchanged) != 0 {
		t.Fatalf("first refresh: downloads %v, unchanged %v", bulk.downloads, first.Unchanged)
	}
	second := refresh()
	if bulk.downloads["us-east-1"] != 1 || bulk.downloads["eu-west-1"] != 1 {
		t.Errorf("second refresh downloaded again: %v", bulk.downloads)
	}
	if want := []string{"eu-west-1", "us-east-1"}; !slices.Equal(second.Unchanged, want) {
		t.Errorf("unchanged = %v, want %v", second.Unchanged, want)
	}
	if a, b := byKey(first.Offers), byKey(second.Offers); len(a) != len(b) || a["us-east-1//p5.48xlarge"].PriceHourly != b["us-east-1//p5.48xlarge"].PriceHourly {
		t.Errorf("offers from the state differ:\n%v\n%v", first.Offers, second.Offers)
	}
	bulk.mu.Lock()
	bulk.versions["us-east-1"], bulk.prices["us-east-1"] = "20261201000000", "50.0000000000"
	bulk.mu.Unlock()
	third := refresh()
	if bulk.downloads["us-east-1"] != 2 || bulk.downloads["eu-west-1"] != 1 {
		t.Errorf("third refresh: downloads %v, want us-east-1 again only", bulk.downloads)
	}
	if got := byKey(third.Offers)["us-east-1//p5.48xlarge"]; got.PriceHourly != 50 || got.Source != "aws-price-list/20261201000000" {
		t.Errorf("new version: %+v", got)
	}
}

// TestFetchSpotDenied: without ec2:DescribeSpotPriceHistory the error
// names the cloud, region, operation and endpoint, and the on-demand offers
// are kept.
func TestFetchSpotDenied(t *testing.T) {
	bulk := httptest.NewServer(newBulk())
	defer bulk.Close()
	ec2Srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>5f3a1c2e-0000-4000-8000-000000000000</RequestID></Response>`))
	}))
	defer ec2Srv.Close()
	res, err := New(Config{BaseURL: bulk.URL, Spot: newSpotClient(ec2Srv.URL)}).Fetch(context.Background(),
		pricing.Request{Regions: []string{"us-east-1"}, Shapes: awsShapes(t)})
	for _, w := range []string{"aws us-east-1: spot prices (EC2 DescribeSpotPriceHistory at " + ec2Srv.URL + "/us-east-1)", "UnauthorizedOperation"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to contain %q", err, w)
		}
	}
	if len(res.Offers) != 3 || res.Offers[0].HasSpot() {
		t.Errorf("offers %+v: want the three on-demand offers kept", res.Offers)
	}
}

// TestFetchRegionFails: a region that fails is named with its URL, and the
// other regions' offers are still returned.
func TestFetchRegionFails(t *testing.T) {
	bulk := newBulk()
	bulk.fail["eu-west-1"] = true
	srv := httptest.NewServer(bulk)
	defer srv.Close()
	res, err := New(Config{BaseURL: srv.URL}).Fetch(context.Background(), pricing.Request{Regions: []string{"us-east-1", "eu-west-1"}, Shapes: awsShapes(t)})
	want := "aws eu-west-1: reading " + srv.URL + "/offers/v1.0/aws/AmazonEC2/20261101000000/eu-west-1/index.json: HTTP 500"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	if _, ok := byKey(res.Offers)["us-east-1//p5.48xlarge"]; !ok || len(res.Offers) != 3 {
		t.Errorf("us-east-1's offers lost: %v", res.Offers)
	}
}
