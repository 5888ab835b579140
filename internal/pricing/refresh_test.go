package pricing_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// fakeSource returns canned offers and records its requests.
type fakeSource struct {
	cloud  string
	Result pricing.Result
	Err    error
	Calls  []pricing.Request
}

var _ pricing.Source = (*fakeSource)(nil)

func (f *fakeSource) Cloud() string { return f.cloud }

func (f *fakeSource) Fetch(_ context.Context, req pricing.Request) (pricing.Result, error) {
	f.Calls = append(f.Calls, req)
	return f.Result, f.Err
}

func TestRefresh(t *testing.T) {
	aws := &fakeSource{cloud: costing.AWS, Result: pricing.Result{Offers: []costing.Offer{
		// Full shape from the API.
		{Cloud: costing.AWS, Region: "us-east-1", InstanceType: "g6.2xlarge", GPUModel: costing.L4, GPUCount: 1, VCPUs: 8, MemoryGiB: 32, PriceHourly: 0.9776, Source: "aws-price-list/1"},
		// Spot above on-demand: dropped, the offer kept on demand.
		{Cloud: costing.AWS, Region: "us-east-1", InstanceType: "g4dn.xlarge", GPUModel: costing.T4, GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.526, SpotPriceHourly: 0.6, Source: "aws-price-list/1"},
		// Priced twice: the first wins.
		{Cloud: costing.AWS, Region: "us-east-1", InstanceType: "g4dn.xlarge", GPUModel: costing.T4, GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.9, Source: "aws-price-list/1"},
	}, UnknownGPUs: []string{"NVIDIA T4G (g5g)"}}}
	azure := &fakeSource{cloud: costing.Azure, Result: pricing.Result{Offers: []costing.Offer{
		// Shape from the embedded catalog, capabilities included.
		{Cloud: costing.Azure, Region: "eastus", InstanceType: "Standard_ND96isr_H100_v5", PriceHourly: 98.32, SpotPriceHourly: 39.33, Source: "azure-retail-prices"},
		// Neither the API nor the embedded catalog knows the shape.
		{Cloud: costing.Azure, Region: "eastus", InstanceType: "Standard_NC8as_T4_v3", PriceHourly: 0.752, Source: "azure-retail-prices"},
	}}}
	gcp := &fakeSource{cloud: costing.GCP, Err: errors.New("gcp: listing SKUs: 403 API key not valid")}

	cat, rep, err := pricing.Refresh(context.Background(), pricing.Config{
		Sources: []pricing.Source{aws, azure, gcp},
		Regions: map[string][]string{costing.AWS: {"us-east-1"}},
		AsOf:    "2026-11-29",
	})
	var ce *pricing.CloudError
	if !errors.As(err, &ce) || ce.Cloud != costing.GCP || !strings.Contains(err.Error(), "403 API key not valid") {
		t.Fatalf("err = %v, want gcp's failure", err)
	}
	if cat == nil {
		t.Fatal("no catalog: a failing cloud lost the others' rows")
	}
	if got := aws.Calls[0].Regions; !slices.Equal(got, []string{"us-east-1"}) {
		t.Errorf("aws asked for %v", got)
	}
	// A cloud absent from Regions is priced in every region of the table.
	if n := len(azure.Calls[0].Regions); n < 20 || !slices.Contains(azure.Calls[0].Regions, "eastus") {
		t.Errorf("azure asked for %d regions: %v", n, azure.Calls[0].Regions)
	}
	if len(azure.Calls[0].Shapes) == 0 || azure.Calls[0].Shapes[0].Cloud != costing.Azure {
		t.Errorf("azure got no Azure shapes")
	}
	offers := map[string]costing.Offer{}
	for _, o := range cat.Offers() {
		offers[o.InstanceType] = o
	}
	if len(offers) != 3 {
		t.Errorf("offers %v, want 3", offers)
	}
	if o := offers["Standard_ND96isr_H100_v5"]; o.GPUModel != costing.H100 || o.GPUCount != 8 || o.VCPUs != 96 || o.MemoryGiB != 1900 ||
		o.GPUMemoryGiB != 80 || o.PriceHourly != 98.32 || o.SpotPriceHourly != 39.33 || !o.HasCapability("infiniband") || o.Jurisdiction != "us" {
		t.Errorf("azure offer not completed from the embedded shape: %+v", o)
	}
	if o := offers["g6.2xlarge"]; o.GPUMemoryGiB != 24 || o.Source != "aws-price-list/1" {
		t.Errorf("g6.2xlarge = %+v", o)
	}
	if o := offers["g4dn.xlarge"]; o.PriceHourly != 0.526 || o.HasSpot() {
		t.Errorf("g4dn.xlarge = %+v, want the first price, on demand only", o)
	}
	if m := cat.Meta(); m.AsOf != "2026-11-29" || m.Source != "qm catalog refresh: aws azure gcp" {
		t.Errorf("meta %+v", m)
	}
	byCloud := map[string]pricing.CloudReport{}
	for _, c := range rep.Clouds {
		byCloud[c.Cloud] = c
	}
	if c := byCloud[costing.AWS]; c.Rows != 2 || len(c.Skipped) != 1 || !slices.Equal(c.UnknownGPUs, []string{"NVIDIA T4G (g5g)"}) || c.Regions != 1 {
		t.Errorf("aws report %+v", c)
	}
	if c := byCloud[costing.Azure]; c.Rows != 1 || len(c.Skipped) != 1 || !strings.HasPrefix(c.Skipped[0].Reason, "shape unknown") {
		t.Errorf("azure report %+v", c)
	}
	if c := byCloud[costing.GCP]; c.Rows != 0 || c.Err == "" {
		t.Errorf("gcp report %+v", c)
	}
}

func TestRefreshNoRegionOfACloud(t *testing.T) {
	aws := &fakeSource{cloud: costing.AWS, Result: pricing.Result{Offers: []costing.Offer{
		{Cloud: costing.AWS, Region: "us-east-1", InstanceType: "g6.2xlarge", GPUModel: costing.L4, GPUCount: 1, VCPUs: 8, MemoryGiB: 32, PriceHourly: 0.9776},
	}}}
	gcp := &fakeSource{cloud: costing.GCP}
	_, rep, err := pricing.Refresh(context.Background(), pricing.Config{
		Sources: []pricing.Source{aws, gcp}, Regions: map[string][]string{costing.AWS: {"us-east-1"}, costing.GCP: {}}, AsOf: "2026-11-29",
	})
	if err != nil || len(gcp.Calls) != 0 || len(rep.Clouds[1].Skipped) != 1 {
		t.Fatalf("err %v, gcp calls %d, report %+v: want gcp not asked and the skip reported", err, len(gcp.Calls), rep.Clouds[1])
	}
}

func TestRefreshRejectsUnknownRegion(t *testing.T) {
	src := &fakeSource{cloud: costing.AWS}
	_, _, err := pricing.Refresh(context.Background(), pricing.Config{
		Sources: []pricing.Source{src}, Regions: map[string][]string{costing.AWS: {"mars-1"}}, AsOf: "2026-11-29",
	})
	if err == nil || !strings.Contains(err.Error(), `region "mars-1"`) || len(src.Calls) != 0 {
		t.Fatalf("err = %v, calls %d: want the region refused before any call", err, len(src.Calls))
	}
}

func TestDiff(t *testing.T) {
	read := func(rows string) *costing.Catalog {
		t.Helper()
		c, err := costing.ReadCSV(strings.NewReader(costing.CSVHeader+"\n"+rows), nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := read(`aws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,27.52,efa
aws,us-east-1,,g5.xlarge,A10G,1,24,4,16,1.006,0.4024,
gcp,us-central1,,n1-standard-8,T4,1,16,8,30,0.73,,
gcp,us-central1,,n1-standard-8,V100,1,16,8,30,2.86,,
`)
	new := read(`aws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,27.52,efa
aws,us-east-1,,g5.xlarge,A10G,1,24,4,16,1.1066,,
aws,us-east-1,,g6.2xlarge,L4,1,24,8,32,0.9776,,
gcp,us-central1,,n1-standard-8,T4,1,16,8,30,0.729998,0.21982,
`)
	got := pricing.Diff(old, new)
	type row struct {
		kind, key   string
		pct, spotPc float64
	}
	var rows []row
	for _, c := range got {
		r := row{kind: c.Kind, key: c.Cloud + "/" + c.Region + "/" + c.InstanceType + "/" + c.GPUModel}
		if c.PricePct != nil {
			r.pct = *c.PricePct
		}
		if c.SpotPct != nil {
			r.spotPc = *c.SpotPct
		}
		rows = append(rows, r)
	}
	want := []row{
		{pricing.Changed, "aws/us-east-1/g5.xlarge/A10G", 10, 0},
		{pricing.Added, "aws/us-east-1/g6.2xlarge/L4", 0, 0},
		{pricing.Changed, "gcp/us-central1/n1-standard-8/T4", 0, 0},
		{pricing.Removed, "gcp/us-central1/n1-standard-8/V100", 0, 0},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("diff\n got %v\nwant %v", rows, want)
	}
	if g := got[0]; g.OldSpot == nil || *g.OldSpot != 0.4024 || g.NewSpot != nil {
		t.Errorf("g5.xlarge lost its spot capacity: old %v new %v", g.OldSpot, g.NewSpot)
	}
	if g := got[2]; g.PricePct != nil && *g.PricePct != 0 {
		t.Errorf("T4 change %v", *g.PricePct)
	}
	if len(pricing.Diff(new, new)) != 0 {
		t.Error("a catalog differs from itself")
	}
}
