package reload

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

const header = "cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n"

// catalogCSV is a two-offer L4 catalog: gcp at gcpPrice, aws at 0.80.
func catalogCSV(asOf string, gcpPrice float64) string {
	return "# as-of: " + asOf + "\n" + header +
		fmt.Sprintf("gcp,us-central1,,g2-standard-4,L4,1,24,4,16,%g,,\n", gcpPrice) +
		"aws,us-east-1,,g6.xlarge,L4,1,24,4,16,0.80,,\n"
}

// l4 is one L4 GPU for an hour.
var l4 = &workload.Workload{Kind: "Job", Namespace: "ns", Name: "w", PodSets: []workload.PodSet{{
	Name: "template", Replicas: 1, GPU: workload.GPUDemand{Resource: workload.ResourceNvidiaGPU, Count: 1},
}}}

// place is where and at what price the placer in service puts l4.
func place(t *testing.T, p *Placement) string {
	t.Helper()
	res, err := p.Placer().Place(&placement.Request{Workload: l4})
	if err != nil {
		return "none"
	}
	return fmt.Sprintf("%s %.2f", res.Best.Offer.Cloud, res.Best.PricePerHour)
}

type fixture struct {
	cm   *configMap
	p    *Placement
	reg  *prometheus.Registry
	logs *bytes.Buffer
}

func newFixture(t *testing.T, catalog, quota string) *fixture {
	t.Helper()
	fx := &fixture{cm: newConfigMap(t, map[string]string{"catalog.csv": catalog, "quotas.yaml": quota}),
		reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	now := func() time.Time { return time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC) }
	m, err := NewMetrics(fx.reg, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	parse, err := CatalogParser("csv", "", fx.cm.path("catalog.csv"), costing.DefaultRegions())
	if err != nil {
		t.Fatal(err)
	}
	fx.p, err = New(Options{CatalogPath: fx.cm.path("catalog.csv"), ParseCatalog: parse, QuotaPath: fx.cm.path("quotas.yaml"),
		Metrics: m, Logger: slog.New(slog.NewTextHandler(fx.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *fixture) gauge(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := fx.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.Gauge != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return math.Inf(-1)
}

// TestPlacementReload changes the mounted catalog and quota files as a
// ConfigMap update does, and checks the placement, the revisions and the
// metrics after each change.
func TestPlacementReload(t *testing.T) {
	const noQuota = "quotas: []\n"
	const gcpFull = "quotas: [{cloud: gcp, region: us-central1, gpuModel: L4, gpus: 0}]\n"
	tests := map[string]struct {
		catalog, quota string // "" keeps the file as it is
		changed        bool
		err            string
		place          string
		failures       map[string]float64
		reloads        map[string]float64
		asOf           string
		offers         float64
	}{
		"a cheaper price is used by the next placement": {
			catalog: catalogCSV("2026-11-10", 0.50), changed: true, place: "gcp 0.50",
			reloads: map[string]float64{"catalog": 1}, asOf: "2026-11-10", offers: 2,
		},
		"a dearer price moves the placement": {
			catalog: catalogCSV("2026-11-10", 0.90), changed: true, place: "aws 0.80",
			reloads: map[string]float64{"catalog": 1}, asOf: "2026-11-10", offers: 2,
		},
		"a broken catalog is counted and the old one serves": {
			catalog: catalogCSV("2026-11-10", 0.50) + "gcp,us-central1,,g2-standard-8,L4,one,24,4,16,0.5,,\n",
			err:     "catalog.csv", place: "gcp 0.70",
			failures: map[string]float64{"catalog": 1}, asOf: "2026-11-01", offers: 2,
		},
		"an empty catalog is rejected": {
			catalog: "\n", err: "catalog", place: "gcp 0.70",
			failures: map[string]float64{"catalog": 1}, asOf: "2026-11-01", offers: 2,
		},
		"a catalog without offers is rejected": {
			catalog: "# as-of: 2026-11-10\n" + header, err: "no offers", place: "gcp 0.70",
			failures: map[string]float64{"catalog": 1}, asOf: "2026-11-01", offers: 2,
		},
		"a quota change is used by the next placement": {
			quota: gcpFull, changed: true, place: "aws 0.80",
			reloads: map[string]float64{"quota": 1}, asOf: "2026-11-01", offers: 2,
		},
		"a broken quota file is counted and the old quotas serve": {
			quota: "quotas: [{cloud: gcp, region: us-central1, gpuModel: L4, gpus: many}]\n", err: "quotas.yaml", place: "gcp 0.70",
			failures: map[string]float64{"quota": 1}, asOf: "2026-11-01", offers: 2,
		},
		"a misspelt quota region is rejected, not silently ignored (issue 17 item 2)": {
			quota: "quotas: [{cloud: gcp, region: US-Central1, gpuModel: L4, gpus: 0}]\n", err: `region "US-Central1"`, place: "gcp 0.70",
			failures: map[string]float64{"quota": 1}, asOf: "2026-11-01", offers: 2,
		},
		"a catalog region without a jurisdiction is rejected (issue 17 item 15)": {
			catalog: catalogCSV("2026-11-10", 0.50) + "aws,mars-1,,g6.xlarge,L4,1,24,4,16,0.1,,\n", err: `region "mars-1" of aws has no jurisdiction`,
			place: "gcp 0.70", failures: map[string]float64{"catalog": 1}, asOf: "2026-11-01", offers: 2,
		},
		"an empty quota file is not read as no limits": {
			quota: " \n", err: "empty quota file", place: "gcp 0.70",
			failures: map[string]float64{"quota": 1}, asOf: "2026-11-01", offers: 2,
		},
		"a broken quota file does not hold back a good catalog": {
			catalog: catalogCSV("2026-11-10", 0.60), quota: "quotas: {}\n", changed: true, err: "quotas.yaml", place: "gcp 0.60",
			reloads: map[string]float64{"catalog": 1}, failures: map[string]float64{"quota": 1}, asOf: "2026-11-10", offers: 2,
		},
		"a catalog with a new instance type": {
			catalog: catalogCSV("2026-11-10", 0.70) + "aws,us-east-1,,g6.2xlarge,L4,1,24,8,32,0.98,,\n", changed: true, place: "gcp 0.70",
			reloads: map[string]float64{"catalog": 1}, asOf: "2026-11-10", offers: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, catalogCSV("2026-11-01", 0.70), noQuota)
			if got := place(t, fx.p); got != "gcp 0.70" {
				t.Fatalf("before: %s", got)
			}
			before, beforeQuota := fx.p.CatalogRevision(), fx.p.QuotaRevision()
			files := map[string]string{"catalog.csv": catalogCSV("2026-11-01", 0.70), "quotas.yaml": noQuota}
			if tc.catalog != "" {
				files["catalog.csv"] = tc.catalog
			}
			if tc.quota != "" {
				files["quotas.yaml"] = tc.quota
			}
			fx.cm.write(files)
			changed, err := fx.p.Check()
			if changed != tc.changed || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("changed %v, err %v; want %v, %q", changed, err, tc.changed, tc.err)
			}
			if got := place(t, fx.p); got != tc.place {
				t.Errorf("placed %s, want %s", got, tc.place)
			}
			if got := fx.p.Placer().Catalog(); got != fx.p.Catalog() {
				t.Error("the placer and Catalog disagree")
			}
			catalogChanged := tc.reloads["catalog"] > 0
			if (fx.p.CatalogRevision() != before) != catalogChanged || (fx.p.QuotaRevision() != beforeQuota) != (tc.reloads["quota"] > 0) {
				t.Errorf("revisions %s→%s, quota %s→%s", before, fx.p.CatalogRevision(), beforeQuota, fx.p.QuotaRevision())
			}
			for _, s := range []string{SourceCatalog, SourceQuota} {
				if got := fx.gauge(t, "quartermaster_webhook_reload_failures_total", "source", s); got != tc.failures[s] {
					t.Errorf("failures{%s} = %v, want %v", s, got, tc.failures[s])
				}
				if got := fx.gauge(t, "quartermaster_webhook_reloads_total", "source", s); got != tc.reloads[s] {
					t.Errorf("reloads{%s} = %v, want %v", s, got, tc.reloads[s])
				}
				if got, want := fx.gauge(t, "quartermaster_webhook_reload_failing", "source", s), tc.failures[s]; got != want {
					t.Errorf("failing{%s} = %v, want %v", s, got, want)
				}
			}
			asOf, _ := time.Parse(time.DateOnly, tc.asOf)
			if got := fx.gauge(t, "quartermaster_catalog_as_of_timestamp_seconds"); got != float64(asOf.Unix()) {
				t.Errorf("as-of %v, want %v", got, asOf.Unix())
			}
			if got, want := fx.gauge(t, "quartermaster_catalog_age_seconds"), time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC).Sub(asOf).Seconds(); got != want {
				t.Errorf("age %v, want %v", got, want)
			}
			if got := fx.gauge(t, "quartermaster_catalog_offers"); got != tc.offers {
				t.Errorf("offers %v, want %v", got, tc.offers)
			}
			if got := fx.gauge(t, "quartermaster_catalog_info", "revision", fx.p.CatalogRevision(), "source", fx.cm.path("catalog.csv")); got != 1 {
				t.Errorf("catalog_info{revision=%s} = %v", fx.p.CatalogRevision(), got)
			}
			if n := testutil.CollectAndCount(fx.reg, "quartermaster_catalog_info"); n != 1 {
				t.Errorf("%d catalog_info series, want the one in service", n)
			}
			if got := fx.gauge(t, "quartermaster_quota_info", "revision", fx.p.QuotaRevision()); got != 1 {
				t.Errorf("quota_info{revision=%s} = %v", fx.p.QuotaRevision(), got)
			}
			if tc.err != "" && !strings.Contains(fx.logs.String(), "reload rejected; keeping the version in service") {
				t.Errorf("rejection not logged:\n%s", fx.logs)
			}
			// The same broken content again is neither reported nor counted twice.
			if changed, err := fx.p.Check(); changed || err != nil {
				t.Errorf("second check: changed %v, err %v", changed, err)
			}
			for s, want := range tc.failures {
				if got := fx.gauge(t, "quartermaster_webhook_reload_failures_total", "source", s); got != want {
					t.Errorf("after a second check failures{%s} = %v, want %v", s, got, want)
				}
			}
		})
	}
}

func TestPlacementModelOfFollowsTheCatalog(t *testing.T) {
	fx := newFixture(t, catalogCSV("2026-11-01", 0.70), "quotas: []\n")
	if got := fx.p.ModelOf("aws", "g6.2xlarge"); got != "" {
		t.Fatalf("before: %q", got)
	}
	fx.cm.write(map[string]string{"catalog.csv": catalogCSV("2026-11-01", 0.70) + "aws,us-east-1,,g6.2xlarge,L4,1,24,8,32,0.98,,\n", "quotas.yaml": "quotas: []\n"})
	if _, err := fx.p.Check(); err != nil {
		t.Fatal(err)
	}
	if got := fx.p.ModelOf("aws", "g6.2xlarge"); got != "L4" {
		t.Fatalf("after: %q", got)
	}
}

// TestPlacementRunPublishes: Run hands each new placer to publish, at the
// interval, and stops with its context.
func TestPlacementRunPublishes(t *testing.T) {
	fx := newFixture(t, catalogCSV("2026-11-01", 0.70), "quotas: []\n")
	got := make(chan *placement.Placer, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fx.p.Run(ctx, 10*time.Millisecond, func(p *placement.Placer) { got <- p }); close(done) }()
	fx.cm.write(map[string]string{"catalog.csv": catalogCSV("2026-11-02", 0.40), "quotas.yaml": "quotas: []\n"})
	select {
	case p := <-got:
		if p != fx.p.Placer() || p.Catalog().Meta().AsOf != "2026-11-02" {
			t.Errorf("published %v, in service %v", p, fx.p.Placer())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no placer published")
	}
	cancel()
	<-done
}

func TestEmbeddedCatalog(t *testing.T) {
	def, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Catalog: def, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if rev := p.CatalogRevision(); len(rev) != 12 || p.QuotaRevision() != "none" {
		t.Errorf("revisions %q, %q", rev, p.QuotaRevision())
	}
	if changed, err := p.Check(); changed || err != nil {
		t.Errorf("check of nothing: %v %v", changed, err)
	}
	// Run returns at once: there is nothing on disk to watch.
	p.Run(context.Background(), time.Millisecond, func(*placement.Placer) { t.Error("published") })
	if n := testutil.ToFloat64(m.offers); n != float64(def.Len()) {
		t.Errorf("offers %v, want %d", n, def.Len())
	}
}

func TestNewRejects(t *testing.T) {
	cm := newConfigMap(t, map[string]string{"catalog.csv": "nope\n", "quotas.yaml": "", "good.csv": catalogCSV("2026-11-01", 1)})
	parse, err := CatalogParser("csv", "", "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		o    Options
		want string
	}{
		"no catalog":       {o: Options{}, want: "a catalog file or a catalog is required"},
		"no parser":        {o: Options{CatalogPath: cm.path("good.csv")}, want: "needs ParseCatalog"},
		"broken catalog":   {o: Options{CatalogPath: cm.path("catalog.csv"), ParseCatalog: parse}, want: "loading catalog: parsing"},
		"missing catalog":  {o: Options{CatalogPath: cm.path("nope.csv"), ParseCatalog: parse}, want: "loading catalog: opening"},
		"empty quota file": {o: Options{CatalogPath: cm.path("good.csv"), ParseCatalog: parse, QuotaPath: cm.path("quotas.yaml")}, want: "empty quota file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := CatalogParser("xml", "", "", nil); err == nil {
		t.Error("format xml accepted")
	}
}
