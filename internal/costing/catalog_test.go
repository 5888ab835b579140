package costing

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDefaultCatalogCoverage(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta().AsOf == "" {
		t.Error("the embedded catalog must carry an as-of date")
	}
	type stats struct {
		regions       map[string]bool
		jurisdictions map[string]bool
		models        map[string]bool
		spot          int
	}
	per := map[string]*stats{}
	for _, o := range c.Offers() {
		s := per[o.Cloud]
		if s == nil {
			s = &stats{map[string]bool{}, map[string]bool{}, map[string]bool{}, 0}
			per[o.Cloud] = s
		}
		if o.Jurisdiction == "" {
			t.Errorf("%s: region %s has no jurisdiction in the region table", o.Key(), o.Region)
		}
		s.regions[o.Region] = true
		s.jurisdictions[o.Jurisdiction] = true
		s.models[o.GPUModel] = true
		if o.HasSpot() {
			s.spot++
			if o.SpotPriceHourly >= o.PriceHourly {
				t.Errorf("%s: spot %.4f is not below on-demand %.4f", o.Key(), o.SpotPriceHourly, o.PriceHourly)
			}
		}
	}
	wantModels := map[string][]string{
		AWS:   {H100, H200, A100_80G, A100, L40S, L4, A10G, T4},
		Azure: {H100, H200, A100_80G, A100, A10, T4},
		GCP:   {H100, H200, A100_80G, A100, L4, T4},
	}
	for _, cloud := range Clouds {
		s := per[cloud]
		if s == nil {
			t.Fatalf("no %s offers", cloud)
		}
		if len(s.regions) < 4 {
			t.Errorf("%s: %d regions, want ≥ 4", cloud, len(s.regions))
		}
		if !s.jurisdictions["us"] || !s.jurisdictions["eu"] || len(s.jurisdictions) < 3 {
			t.Errorf("%s: jurisdictions %v, want us, eu and another", cloud, s.jurisdictions)
		}
		for _, m := range wantModels[cloud] {
			if !s.models[m] {
				t.Errorf("%s: no %s offer", cloud, m)
			}
		}
		if s.spot == 0 {
			t.Errorf("%s: no spot prices", cloud)
		}
	}
}

func TestModelIndex(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range c.Models() {
		offers := c.ModelOffers(m)
		if len(offers) == 0 {
			t.Errorf("model %s indexed with no offers", m)
		}
		for _, o := range offers {
			if o.GPUModel != m {
				t.Fatalf("ModelOffers(%s) holds a %s offer", m, o.GPUModel)
			}
		}
		total += len(offers)
	}
	if total != c.Len() {
		t.Errorf("index covers %d offers, catalog has %d", total, c.Len())
	}
	if c.ModelOffers("B200") != nil {
		t.Error("unknown model must have no offers")
	}
}

const header = CSVHeader + "\n"

func TestReadCSV(t *testing.T) {
	in := "# as-of: 2026-10-01\n" + header +
		"aws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,27.5,efa\n" +
		"gcp,europe-west4,europe-west4-a,g2-standard-4,NVIDIA L4,1,24,4,16,0.7,,\n" +
		"azure,eastus,,Standard_NCC40ads_H100_v5,H100-80GB,1,94,40,320,7.35,,confidential-computing; tdx\n"
	c, err := ReadCSV(strings.NewReader(in), nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta() != (Meta{AsOf: "2026-10-01", Source: "test", Revision: ContentRevision([]byte(in))}) || len(c.Meta().Revision) != 12 {
		t.Errorf("meta = %+v", c.Meta())
	}
	if c.Len() != 3 || !reflect.DeepEqual(c.Models(), []string{H100, L4}) {
		t.Fatalf("len %d models %v", c.Len(), c.Models())
	}
	l4 := c.ModelOffers(L4)[0]
	if l4.Zone != "europe-west4-a" || l4.HasSpot() || l4.Jurisdiction != "eu" {
		t.Errorf("L4 offer = %+v", l4)
	}
	cc := c.ModelOffers(H100)[0] // azure sorts before aws? no: aws < azure
	if cc.Cloud != AWS || !cc.HasCapability("efa") {
		t.Errorf("first H100 offer = %+v", cc)
	}
	az := c.ModelOffers(H100)[1]
	if !reflect.DeepEqual(az.Capabilities, []string{"confidential-computing", "tdx"}) {
		t.Errorf("capabilities = %q", az.Capabilities)
	}
}

func TestReadCSVErrors(t *testing.T) {
	row := func(fields string) string { return header + fields + "\n" }
	tests := map[string]struct{ in, want string }{
		"empty":         {"", "reading catalog header"},
		"wrong header":  {"cloud,region\n", "catalog header"},
		"short row":     {row("aws,us-east-1"), "wrong number of fields"},
		"bad cloud":     {row("oracle,r,,i,H100,8,80,1,1,1,,"), `cloud "oracle"`},
		"bad count":     {row("aws,r,,i,H100,eight,80,1,1,1,,"), `gpu_count "eight"`},
		"zero count":    {row("aws,r,,i,H100,0,80,1,1,1,,"), "gpu count 0"},
		"bad price":     {row("aws,r,,i,H100,8,80,1,1,free,,"), `price_hourly "free"`},
		"nan price":     {row("aws,r,,i,H100,8,80,1,1,NaN,,"), `price_hourly "NaN"`},
		"zero price":    {row("aws,r,,i,H100,8,80,1,1,0,,"), "positive hourly price"},
		"negative spot": {row("aws,r,,i,H100,8,80,1,1,1,-1,"), "spot price"},
		"no region":     {row("aws,,,i,H100,8,80,1,1,1,,"), "region is empty"},
		"duplicate":     {row("aws,r,,i,H100,8,80,1,1,1,,") + "aws,r,,i,H100,8,80,1,1,2,,\n", "listed twice"},
		"line number":   {header + "aws,r,,i,H100,8,80,1,1,1,,\naws,r,,j,H100,8,80,1,1,x,,\n", "catalog line 3"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), nil, "t")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, c); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&buf, nil, c.Meta().Source)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Offers(), c.Offers()) || back.Meta().AsOf != c.Meta().AsOf {
		t.Error("catalog changed in a write/read round trip")
	}
}

func TestCanonicalGPUModel(t *testing.T) {
	for in, want := range map[string]string{
		"H100": H100, "NVIDIA H100 80GB": H100, "H100-MEGA-80GB": H100, "h100-sxm": H100,
		"A100-80GB": A100_80G, "A100-SXM4-80GB": A100_80G, "a100": A100, "A100-40GB": A100,
		"Tesla T4": T4, "NVIDIA L4": L4, "L40S": L40S, "A10G": A10G, "V100-SXM2-32GB": V100, "H200-141GB": H200,
		"B200": "B200", " rtx6000 ": "RTX6000",
	} {
		if got := CanonicalGPUModel(in); got != want {
			t.Errorf("CanonicalGPUModel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegions(t *testing.T) {
	r := DefaultRegions()
	for _, tc := range []struct{ cloud, region, want string }{
		{AWS, "eu-west-2", "uk"}, {AWS, "eu-central-1", "eu"}, {Azure, "swedencentral", "eu"},
		{GCP, "asia-northeast1", "jp"}, {GCP, "us-central1", "us"}, {GCP, "mars-1", ""},
	} {
		if got := r.Jurisdiction(tc.cloud, tc.region); got != tc.want {
			t.Errorf("Jurisdiction(%s, %s) = %q, want %q", tc.cloud, tc.region, got, tc.want)
		}
	}
	for name, in := range map[string]string{
		"header":    "a,b,c,d\n",
		"duplicate": "cloud,region,jurisdiction,location\naws,x,us,\naws,x,eu,\n",
		"missing":   "cloud,region,jurisdiction,location\naws,x,,\n",
	} {
		if _, err := ReadRegions(strings.NewReader(in)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestReadSkyPilotAWS(t *testing.T) {
	f, err := os.Open("testdata/skypilot-aws.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, rep, err := ReadSkyPilot(f, AWS, nil, "aws vms.csv")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Offer{}
	for _, o := range c.Offers() {
		got[o.Region+"/"+o.InstanceType] = o
	}
	p5 := got["us-east-1/p5.48xlarge"]
	if p5.PriceHourly != 55.04 || p5.SpotPriceHourly != 25.9 || p5.GPUMemoryGiB != 80 || p5.Zone != "" {
		t.Errorf("zones must fold into the region at the lowest spot price: %+v", p5)
	}
	if g5 := got["us-east-1/g5.xlarge"]; g5.HasSpot() || g5.GPUModel != A10G {
		t.Errorf("missing spot must leave on-demand only: %+v", g5)
	}
	if t4 := got["eu-west-1/g4dn.xlarge"]; t4.HasSpot() {
		t.Errorf("spot above on-demand must be dropped: %+v", t4)
	}
	if l4 := got["us-west-2/g6.xlarge"]; l4.SpotPriceHourly != 0.31 {
		t.Errorf("NaN spot in one zone must not hide another zone's price: %+v", l4)
	}
	if _, ok := got["us-west-2/p4d.24xlarge"]; ok {
		t.Error("a row without a price must be skipped")
	}
	want := ImportReport{Rows: 8, Offers: 4, SpotDropped: 2,
		Skipped: map[string]int{"no accelerator": 1, "missing price": 1}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
}

func TestReadSkyPilotGCPJoin(t *testing.T) {
	f, err := os.Open("testdata/skypilot-gcp.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, rep, err := ReadSkyPilot(f, GCP, nil, "gcp vms.csv")
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ region, it, model string }
	got := map[key]Offer{}
	for _, o := range c.Offers() {
		got[key{o.Region, o.InstanceType, o.GPUModel}] = o
	}
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	a2 := got[key{"us-central1", "a2-highgpu-1g", A100}]
	if !near(a2.PriceHourly, 3.89) || !near(a2.SpotPriceHourly, 1.46) {
		t.Errorf("host + GPU join: %+v", a2)
	}
	if a3 := got[key{"us-central1", "a3-highgpu-8g", H100}]; !near(a3.PriceHourly, 88.49) || a3.HasSpot() {
		t.Errorf("join with missing GPU spot must drop spot: %+v", a3)
	}
	if t4 := got[key{"us-central1", "n1-standard-8", T4}]; !near(t4.PriceHourly, 0.73) || !near(t4.SpotPriceHourly, 0.22) || t4.VCPUs != 8 {
		t.Errorf("attachable T4 on an n1 host: %+v", t4)
	}
	if v := got[key{"us-central1", "n1-standard-8", V100}]; !near(v.PriceHourly, 2.86) {
		t.Errorf("attachable V100 on the same host type is a separate offer: %+v", v)
	}
	for k := range got {
		if k.region == "europe-west4" || k.region == "us-east4" {
			t.Errorf("host without a GPU price row must be skipped, got %+v", k)
		}
	}
	if rep.Skipped["tpu (placeholder price)"] != 1 || rep.Skipped["gcp gpu without an n1 host row"] != 1 || rep.Skipped["gcp host without a gpu price row"] != 2 {
		t.Errorf("report = %+v", rep)
	}
	if !slices.Contains(c.Models(), H100) {
		t.Error("models missing H100")
	}
}

func TestReadSkyPilotErrors(t *testing.T) {
	if _, _, err := ReadSkyPilot(strings.NewReader("a,b\n"), AWS, nil, ""); err == nil || !strings.Contains(err.Error(), "no instancetype column") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := ReadSkyPilot(strings.NewReader(""), "ibm", nil, ""); err == nil || !strings.Contains(err.Error(), `cloud "ibm"`) {
		t.Errorf("err = %v", err)
	}
}

// TestOfferJSON: offers encode under the contract's column names, with null
// for a missing spot price (issue 17 item 19), never Go's names or a 0.
func TestOfferJSON(t *testing.T) {
	tests := map[string]struct {
		offer Offer
		want  string
	}{
		"with spot": {Offer{Cloud: "aws", Region: "us-east-1", InstanceType: "g6.xlarge", GPUModel: "L4", GPUCount: 1, GPUMemoryGiB: 24, VCPUs: 4, MemoryGiB: 16,
			PriceHourly: 0.8048, SpotPriceHourly: 0.32, Capabilities: []string{"efa"}, Jurisdiction: "us"},
			`{"cloud":"aws","region":"us-east-1","instance_type":"g6.xlarge","gpu_model":"L4","gpu_count":1,"gpu_memory_gib":24,"vcpus":4,"memory_gib":16,"price_hourly":0.8048,"spot_price_hourly":0.32,"capabilities":["efa"],"jurisdiction":"us"}`},
		"no spot, a zone": {Offer{Cloud: "gcp", Region: "us-central1", Zone: "us-central1-a", InstanceType: "g2-standard-4", GPUModel: "L4", GPUCount: 1, PriceHourly: 0.7},
			`{"cloud":"gcp","region":"us-central1","zone":"us-central1-a","instance_type":"g2-standard-4","gpu_model":"L4","gpu_count":1,"gpu_memory_gib":0,"vcpus":0,"memory_gib":0,"price_hourly":0.7,"spot_price_hourly":null,"capabilities":[]}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := json.Marshal(tc.offer)
			if err != nil || string(got) != tc.want {
				t.Errorf("got %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}
