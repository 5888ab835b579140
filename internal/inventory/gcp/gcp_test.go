package gcp

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/fleettest"
)

const (
	prod = "ml-prod-4821"
	dev  = "ml-dev-1234"
	c    = "https://www.googleapis.com/compute/v1/projects/" + prod
	keys = "projects/ml-keys-1234/locations/us-central1/keyRings/ml/cryptoKeys/"
)

var observed = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// prodPages is project ml-prod-4821: every listing over two pages.
func prodPages() map[string]string {
	p := "/compute/v1/projects/" + prod
	return map[string]string{
		p + "/aggregated/instances":                               "instances-1.json",
		p + "/aggregated/instances?pageToken=inst-2":              "instances-2.json",
		p + "/aggregated/disks":                                   "disks-1.json",
		p + "/aggregated/disks?pageToken=disk-2":                  "disks-2.json",
		p + "/global/snapshots":                                   "snapshots-1.json",
		p + "/global/snapshots?pageToken=snap-2":                  "snapshots-2.json",
		"/storage/v1/b?project=" + prod:                           "buckets-1.json",
		"/storage/v1/b?project=" + prod + "&pageToken=b-2":        "buckets-2.json",
		"/v3/projects:search?query=state:ACTIVE":                  "projects-1.json",
		"/v3/projects:search?query=state:ACTIVE&pageToken=proj-2": "projects-2.json",
	}
}

// devPages is project ml-dev-1234: empty, in the shapes an empty project
// answers with.
func devPages(pages map[string]string) map[string]string {
	p := "/compute/v1/projects/" + dev
	pages[p+"/aggregated/instances"] = `{"kind":"compute#instanceAggregatedList","items":{"zones/us-central1-a":{"warning":{"code":"NO_RESULTS_ON_PAGE","message":"none"}}}}`
	pages[p+"/aggregated/disks"] = `{"kind":"compute#diskAggregatedList","items":{}}`
	pages[p+"/global/snapshots"] = `{"kind":"compute#snapshotList","items":[]}`
	pages["/storage/v1/b?project="+dev] = `{"kind":"storage#buckets"}`
	return pages
}

func newSource(t testing.TB, f *fakeGoogle) *Source {
	t.Helper()
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	s, err := New(context.Background(), Config{
		Options:  []option.ClientOption{option.WithoutAuthentication(), option.WithHTTPClient(ts.Client())},
		Compute:  []option.ClientOption{option.WithEndpoint(ts.URL)},
		Storage:  []option.ClientOption{option.WithEndpoint(ts.URL + "/storage/v1/")},
		Projects: []option.ClientOption{option.WithEndpoint(ts.URL)},
		Retry:    Retry{MaxAttempts: 3, Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond, Timeout: 10 * time.Second},
		Now:      func() time.Time { return observed },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// wantProd is what ml-prod-4821 holds, kind by kind in the order of the
// scan, by ID within a kind (an aggregated list's scopes are a JSON map,
// in no order).
func wantProd() []*inventory.Resource {
	base := func(kind inventory.Kind, id, name, region, zone string) inventory.Resource {
		return inventory.Resource{Kind: kind, ID: id, Name: name, Account: prod, Cloud: inventory.CloudGCP, Region: region, Zone: zone, Observed: observed}
	}
	res := func(r inventory.Resource, set func(*inventory.Resource)) *inventory.Resource { set(&r); return &r }
	google := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	return []*inventory.Resource{
		res(base(inventory.KindInstance, c+"/zones/europe-west4-a/instances/serve-l4", "serve-l4", "europe-west4", "europe-west4-a"), func(r *inventory.Resource) {
			r.Created = utc("2026-11-20T18:00:00Z")
			// g2 bundles its L4s; with no accelerators listed, the
			// catalog's machine type says how many.
			r.Instance = &inventory.Instance{InstanceType: "g2-standard-48", State: "pending", CapacityType: "on-demand", GPUModel: "L4", GPUCount: 4,
				Disks: []string{c + "/zones/europe-west4-a/disks/serve-l4"}}
		}),
		res(base(inventory.KindInstance, c+"/zones/europe-west4-a/instances/web", "web", "europe-west4", "europe-west4-a"), func(r *inventory.Resource) {
			r.Labels = map[string]string{"app": "web"}
			r.Instance = &inventory.Instance{InstanceType: "e2-medium", State: "running", CapacityType: "on-demand"}
		}),
		res(base(inventory.KindInstance, c+"/zones/us-central1-a/instances/train-a100", "train-a100", "us-central1", "us-central1-a"), func(r *inventory.Resource) {
			r.Labels, r.Created = map[string]string{"team": "ml"}, utc("2026-03-01T08:30:00Z")
			r.Instance = &inventory.Instance{InstanceType: "a2-highgpu-1g", State: "running", CapacityType: "spot", GPUModel: "A100", GPUCount: 1,
				Disks: []string{c + "/zones/us-central1-a/disks/train-a100", c + "/zones/us-central1-a/disks/datasets"}}
		}),
		res(base(inventory.KindInstance, c+"/zones/us-east1-c/instances/notebook", "notebook", "us-east1", "us-east1-c"), func(r *inventory.Resource) {
			r.Created = utc("2026-02-14T17:00:00Z")
			r.Instance = &inventory.Instance{InstanceType: "n1-standard-8", State: "stopped", CapacityType: "spot", GPUModel: "T4", GPUCount: 1,
				Disks: []string{c + "/zones/us-east1-c/disks/notebook"}}
		}),
		res(base(inventory.KindDisk, c+"/regions/europe-west4/disks/shared-pd", "shared-pd", "europe-west4", ""), func(r *inventory.Resource) {
			r.Labels, r.Created = map[string]string{"owner": "nobody"}, utc("2025-06-01T19:00:00Z")
			r.Disk = &inventory.Disk{SizeGiB: 500, Type: "pd-balanced", Encryption: google}
		}),
		res(base(inventory.KindDisk, c+"/zones/us-central1-a/disks/datasets", "datasets", "us-central1", "us-central1-a"), func(r *inventory.Resource) {
			r.Labels, r.Created = map[string]string{"data": "training"}, utc("2026-03-01T08:31:00Z")
			r.Disk = &inventory.Disk{SizeGiB: 2048, Type: "pd-ssd",
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: keys + "disks"},
				AttachedTo: c + "/zones/us-central1-a/instances/train-a100"}
		}),
		res(base(inventory.KindDisk, c+"/zones/us-central1-a/disks/train-a100", "train-a100", "us-central1", "us-central1-a"), func(r *inventory.Resource) {
			r.Created = utc("2026-03-01T08:30:00Z")
			r.Disk = &inventory.Disk{SizeGiB: 100, Type: "pd-balanced", Encryption: google, AttachedTo: c + "/zones/us-central1-a/instances/train-a100"}
		}),
		res(base(inventory.KindDisk, c+"/zones/us-east1-c/disks/notebook", "notebook", "us-east1", "us-east1-c"), func(r *inventory.Resource) {
			r.Disk = &inventory.Disk{SizeGiB: 200, Type: "pd-standard", Encryption: google, AttachedTo: c + "/zones/us-east1-c/instances/notebook"}
		}),
		res(base(inventory.KindSnapshot, c+"/global/snapshots/datasets-nightly", "datasets-nightly", "us-central1", ""), func(r *inventory.Resource) {
			r.Created = utc("2026-11-29T07:00:00Z")
			r.Snapshot = &inventory.Snapshot{SizeGiB: 2048, SourceDisk: c + "/zones/us-central1-a/disks/datasets",
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: keys + "snapshots"}}
		}),
		res(base(inventory.KindSnapshot, c+"/global/snapshots/old-boot", "old-boot", "", ""), func(r *inventory.Resource) {
			r.Created = utc("2024-01-10T16:00:00Z")
			r.Snapshot = &inventory.Snapshot{SizeGiB: 50, SourceDisk: c + "/zones/us-east1-c/disks/deleted-vm", Encryption: google}
		}),
		res(base(inventory.KindBucket, "https://www.googleapis.com/storage/v1/b/ml-prod-datasets", "ml-prod-datasets", "us-central1", ""), func(r *inventory.Resource) {
			r.Labels, r.Created = map[string]string{"data": "training"}, utc("2026-03-01T08:00:00Z")
			r.Bucket = &inventory.Bucket{Location: "US-CENTRAL1", PublicAccessBlocked: true, Versioning: true, SoftDelete: true,
				Encryption: inventory.Encryption{Encrypted: true, KeyKind: "customer-managed", KeyID: keys + "buckets"}}
		}),
		res(base(inventory.KindBucket, "https://www.googleapis.com/storage/v1/b/ml-prod-public", "ml-prod-public", "", ""), func(r *inventory.Resource) {
			r.Created = utc("2025-01-01T00:00:00Z")
			r.Bucket = &inventory.Bucket{Location: "EU", Encryption: google}
		}),
	}
}

var kindOrder = []inventory.Kind{inventory.KindInstance, inventory.KindDisk, inventory.KindSnapshot, inventory.KindBucket}

// sorted orders resources by the scan's order of kinds, then by ID.
func sorted(rs []*inventory.Resource) []*inventory.Resource {
	slices.SortStableFunc(rs, func(a, b *inventory.Resource) int {
		return cmp.Or(cmp.Compare(slices.Index(kindOrder, a.Kind), slices.Index(kindOrder, b.Kind)), cmp.Compare(a.ID, b.ID))
	})
	return rs
}

func scan(t *testing.T, s *Source, a inventory.Account) ([]*inventory.Resource, error) {
	t.Helper()
	var got []*inventory.Resource
	lastKind := -1
	err := s.Scan(context.Background(), a, func(r *inventory.Resource) error {
		if err := r.Validate(); err != nil {
			t.Errorf("invalid resource: %v", err)
		}
		if k := slices.Index(kindOrder, r.Kind); k < lastKind {
			t.Errorf("%s %s emitted after a later kind", r.Kind, r.ID)
		} else {
			lastKind = k
		}
		got = append(got, r)
		return nil
	})
	return sorted(got), err
}

func TestScan(t *testing.T) {
	for name, tc := range map[string]struct {
		regions []string
		want    []*inventory.Resource
	}{
		"every region": {want: wantProd()},
		"us-central1 only": {regions: []string{"us-central1"}, want: slices.DeleteFunc(wantProd(), func(r *inventory.Resource) bool {
			return r.Region != "us-central1"
		})},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeGoogle{T: t, Pages: prodPages()}
			got, err := scan(t, newSource(t, f), inventory.Account{Cloud: inventory.CloudGCP, ID: prod, Regions: tc.regions})
			if err != nil {
				t.Fatal(err)
			}
			fleettest.SameResources(t, got, tc.want)
			// Two pages of each listing, each asked for once.
			p := "GET /compute/v1/projects/" + prod
			for prefix, n := range map[string]int{
				p + "/aggregated/instances": 2, p + "/aggregated/disks": 2, p + "/global/snapshots": 2,
				"GET /storage/v1/b?project=" + prod: 2,
			} {
				if got := f.Count(prefix); got != n {
					t.Errorf("%d requests %s, want %d", got, prefix, n)
				}
			}
			if len(f.Calls()) != 8 {
				t.Errorf("%d requests, want 8: %v", len(f.Calls()), f.Calls())
			}
			// The bucket list asks for the full projection, without
			// which encryption and IAM configuration are left out.
			queries := f.Queries()
			for i, k := range f.Calls() {
				if strings.Contains(k, "/storage/v1/b") && !strings.Contains(queries[i], "projection=full") {
					t.Errorf("bucket list %s?%s without projection=full", k, queries[i])
				}
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	p := "/compute/v1/projects/" + prod
	for name, tc := range map[string]struct {
		fail      map[string][]int
		wantErr   []string // empty: the scan succeeds with every resource
		wantCalls map[string]int
	}{
		"instances throttled once": {
			fail:      map[string][]int{p + "/aggregated/instances?pageToken=inst-2": {429}},
			wantCalls: map[string]int{"GET " + p + "/aggregated/instances?pageToken=inst-2": 2},
		},
		"buckets throttled twice": {
			fail:      map[string][]int{"/storage/v1/b?project=" + prod + "&pageToken=b-2": {429, 503}},
			wantCalls: map[string]int{"GET /storage/v1/b?project=" + prod + "&pageToken=b-2": 3},
		},
		"disks unavailable on every try": {
			fail:      map[string][]int{p + "/aggregated/disks": {-503}},
			wantErr:   []string{"scanning project " + prod, "listing disks (compute.disks.aggregatedList)", "503"},
			wantCalls: map[string]int{"GET " + p + "/aggregated/disks": 3}, // MaxAttempts
		},
		"buckets forbidden": {
			fail:      map[string][]int{"/storage/v1/b": {-403}},
			wantErr:   []string{"scanning project " + prod, "listing buckets (storage.buckets.list)", "403", "does not have storage.buckets.list access"},
			wantCalls: map[string]int{"GET /storage/v1/b": 1}, // not retried
		},
		"snapshots throttled beyond the bound": {
			fail:      map[string][]int{p + "/global/snapshots": {-429}},
			wantErr:   []string{"scanning project " + prod, "listing snapshots (compute.snapshots.list)", "429", "Quota exceeded"},
			wantCalls: map[string]int{"GET " + p + "/global/snapshots": 3},
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeGoogle{T: t, Pages: prodPages(), Fail: tc.fail}
			got, err := scan(t, newSource(t, f), inventory.Account{Cloud: inventory.CloudGCP, ID: prod})
			switch {
			case len(tc.wantErr) == 0 && err != nil:
				t.Fatal(err)
			case len(tc.wantErr) == 0:
				fleettest.SameResources(t, got, wantProd())
			case err == nil:
				t.Fatal("scan succeeded")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for prefix, n := range tc.wantCalls {
				if got := f.Count(prefix); got != n {
					t.Errorf("%d requests %s, want %d", got, prefix, n)
				}
			}
		})
	}
}

// TestRunner drives the source through the inventory runner over two
// projects, one of which may not list its buckets: the good one is
// delivered whole, the other is a failed account naming its project and
// the API.
func TestRunner(t *testing.T) {
	f := &fakeGoogle{T: t, Pages: devPages(prodPages()), Fail: map[string][]int{"/storage/v1/b?project=" + dev: {-403}}}
	r := &inventory.Runner{Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudGCP: newSource(t, f)}}
	var got []*inventory.Resource
	sum, err := r.Run(context.Background(), []inventory.Account{{Cloud: inventory.CloudGCP, ID: prod}, {Cloud: inventory.CloudGCP, ID: dev}},
		func(res *inventory.Resource) error { got = append(got, res); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.Accounts[0].Status != inventory.StatusScanned || sum.Accounts[1].Status != inventory.StatusFailed {
		t.Fatalf("summary %+v: want %s scanned and %s failed", sum, prod, dev)
	}
	if e := sum.Accounts[1].Error; !strings.Contains(e, dev) || !strings.Contains(e, "storage.buckets.list") || !strings.Contains(e, "403") {
		t.Errorf("failed account's error %q: want the project, the API and the status", e)
	}
	fleettest.SameResources(t, sorted(got), wantProd())
}

func TestDiscover(t *testing.T) {
	f := &fakeGoogle{T: t, Pages: prodPages()}
	got, err := newSource(t, f).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The project being deleted is left out even when the search
	// returns it.
	want := []inventory.Account{{Cloud: inventory.CloudGCP, ID: prod, Name: "ML prod"}, {Cloud: inventory.CloudGCP, ID: dev, Name: "ML dev"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discovered %+v, want %+v", got, want)
	}
	if n := f.Count("GET /v3/projects:search?query=state:ACTIVE"); n != 2 {
		t.Errorf("%d project searches, want 2 pages: %v", n, f.Calls())
	}
}

func TestAcceleratorModel(t *testing.T) {
	for in, want := range map[string]string{
		"nvidia-tesla-t4": "T4", "nvidia-tesla-v100": "V100", "nvidia-tesla-a100": "A100", "nvidia-a100-80gb": "A100-80GB",
		"nvidia-h100-80gb": "H100", "nvidia-h100-mega-80gb": "H100", "nvidia-h200-141gb": "H200", "nvidia-l4": "L4",
		"nvidia-tesla-p100": "P100",
	} {
		if got := acceleratorModel(in); got != want {
			t.Errorf("acceleratorModel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInstanceState(t *testing.T) {
	for in, want := range map[string]string{
		"RUNNING": "running", "PROVISIONING": "pending", "STAGING": "pending", "REPAIRING": "pending",
		"STOPPING": "stopped", "TERMINATED": "stopped", "SUSPENDING": "stopped", "SUSPENDED": "stopped",
	} {
		if got := instanceState(in); got != want {
			t.Errorf("instanceState(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetryDefaults(t *testing.T) {
	if got := retryOrDefault(Retry{}); got != DefaultRetry {
		t.Errorf("zero Retry: %+v, want DefaultRetry %+v", got, DefaultRetry)
	}
	want := DefaultRetry
	want.MaxAttempts = 2
	if got := retryOrDefault(Retry{MaxAttempts: 2}); got != want {
		t.Errorf("Retry{MaxAttempts: 2}: %+v, want %+v", got, want)
	}
}

func TestDefaultRetryDocumented(t *testing.T) {
	if DefaultRetry != (Retry{MaxAttempts: 6, Initial: 2 * time.Second, Max: 32 * time.Second, Timeout: 5 * time.Minute}) {
		t.Errorf("DefaultRetry %+v differs from docs/inventory-azure-gcp.md", DefaultRetry)
	}
	if !slices.Equal(RetryCodes, []int{429, 500, 502, 503, 504}) {
		t.Errorf("RetryCodes %v differ from docs/inventory-azure-gcp.md", RetryCodes)
	}
}

// BenchmarkScanInstances scans a project of 10,000 instances over 20
// aggregated-list pages of 500, each spread over 5 zones, from an httptest
// server: the cost of decoding and converting, without the network.
func BenchmarkScanInstances(b *testing.B) {
	const pages, perPage = 20, 500
	body := make([]string, pages)
	for p := range pages {
		items := map[string]any{}
		for z := range 5 {
			zone := fmt.Sprintf("us-central1-%c", 'a'+z)
			var ins []map[string]any
			for i := range perPage / 5 {
				name := fmt.Sprintf("vm-%d-%d-%d", p, z, i)
				ins = append(ins, map[string]any{
					"id": fmt.Sprint(p*perPage + z*100 + i), "name": name, "status": "RUNNING",
					"creationTimestamp": "2026-03-01T00:30:00.000-08:00",
					"machineType":       c + "/zones/" + zone + "/machineTypes/a2-highgpu-1g",
					"zone":              c + "/zones/" + zone, "selfLink": c + "/zones/" + zone + "/instances/" + name,
					"guestAccelerators": []map[string]any{{"acceleratorType": c + "/zones/" + zone + "/acceleratorTypes/nvidia-tesla-a100", "acceleratorCount": 1}},
					"disks":             []map[string]any{{"source": c + "/zones/" + zone + "/disks/" + name, "boot": true}},
					"scheduling":        map[string]any{"provisioningModel": "SPOT"},
					"labels":            map[string]string{"team": "ml", "env": "prod"},
				})
			}
			items["zones/"+zone] = map[string]any{"instances": ins}
		}
		page := map[string]any{"kind": "compute#instanceAggregatedList", "items": items}
		if p < pages-1 {
			page["nextPageToken"] = fmt.Sprint("t", p+1)
		}
		raw, _ := json.Marshal(page)
		body[p] = string(raw)
	}
	pp := map[string]string{}
	base := "/compute/v1/projects/" + prod + "/aggregated/instances"
	for p := range pages {
		k := base
		if p > 0 {
			k += "?pageToken=t" + fmt.Sprint(p)
		}
		pp[k] = body[p]
	}
	f := &fakeGoogle{T: b, Pages: pp}
	s := newSource(b, f)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		err := s.scanInstances(context.Background(), prod, func(*inventory.Resource) error { n++; return nil })
		if err != nil || n != pages*perPage {
			b.Fatalf("%d instances, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*pages*perPage), "µs/instance")
}

// fakeGoogle is fleettest's, which the fleet benchmark uses too.
type fakeGoogle = fleettest.Google
