package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/reload"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// l4CatalogCSV prices one L4 GPU at gcpPrice on GCP and 0.80 on AWS, as of
// asOf: which price a decision carries names the catalog it came from.
func l4CatalogCSV(asOf string, gcpPrice float64) string {
	return "# as-of: " + asOf + "\n" +
		"cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n" +
		fmt.Sprintf("gcp,us-central1,,g2-standard-4,L4,1,24,4,16,%g,,\n", gcpPrice) +
		"aws,us-east-1,,g6.xlarge,L4,1,24,4,16,0.80,,\n"
}

// writeAtomically replaces path the safe way: a new file renamed over the
// old one (a ConfigMap mount's ..data swap is the same in one step).
func writeAtomically(path, body string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// reloadFixture is a handler whose evaluator is fed by reload.Placement
// from a catalog file, as the webhook wires it.
type reloadFixture struct {
	path   string
	prices *reload.Placement
	ev     *Evaluator
	h      *Handler
	log    *recorder
}

func newReloadFixture(t testing.TB) *reloadFixture {
	t.Helper()
	fx := &reloadFixture{path: filepath.Join(t.TempDir(), "catalog.csv"), log: &recorder{}}
	if err := writeAtomically(fx.path, l4CatalogCSV("2026-11-01", 0.70)); err != nil {
		t.Fatal(err)
	}
	parse, err := reload.CatalogParser("csv", "", fx.path, costing.DefaultRegions())
	if err != nil {
		t.Fatal(err)
	}
	if fx.prices, err = reload.New(reload.Options{CatalogPath: fx.path, ParseCatalog: parse}); err != nil {
		t.Fatal(err)
	}
	x, err := workload.New(workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fx.ev, err = NewEvaluator(Deps{Extractor: x, Placer: fx.prices.Placer()}); err != nil {
		t.Fatal(err)
	}
	fx.h, err = NewHandler(HandlerOptions{Mode: Mutate, Evaluator: fx.ev, Log: fx.log, CatalogRevision: fx.prices.CatalogRevision})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// setPrice writes the catalog with a new GCP price and reloads it, as one
// tick of reload.Placement.Run does.
func (fx *reloadFixture) setPrice(asOf string, price float64) error {
	if err := writeAtomically(fx.path, l4CatalogCSV(asOf, price)); err != nil {
		return err
	}
	changed, err := fx.prices.Check()
	if err != nil {
		return err
	}
	if changed {
		fx.ev.SetPlacer(fx.prices.Placer())
	}
	return nil
}

// l4Job is an AdmissionReview of a Job asking for one GPU.
func l4Job(uid string) []byte {
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + uid + `",` +
		`"kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":"ml","userInfo":{"username":"bob"},"object":` +
		`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"t","namespace":"ml"},"spec":{"template":{"spec":{"containers":` +
		`[{"name":"c","image":"train:1","resources":{"limits":{"nvidia.com/gpu":1}}}]}}}}}}`)
}

// mutate posts one review and returns the HTTP status and the review's
// allowed flag and patch.
func mutate(h http.Handler, uid string) (int, bool, []byte) {
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(l4Job(uid)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var rev struct {
		Response struct {
			Allowed bool   `json:"allowed"`
			Patch   []byte `json:"patch"`
		} `json:"response"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rev); err != nil {
		return w.Code, false, nil
	}
	return w.Code, rev.Response.Allowed, rev.Response.Patch
}

// TestReloadedPriceReachesTheNextDecision: a price changed in the catalog
// file is in the next decision after the reload, and the decision log names
// the catalog revision each decision used.
func TestReloadedPriceReachesTheNextDecision(t *testing.T) {
	fx := newReloadFixture(t)
	steps := []struct {
		asOf  string
		price float64 // GCP's L4 price written to the file; 0 keeps the file
		want  string  // cloud and price of the decision
	}{
		{want: "gcp 0.70 2026-11-01"},
		{asOf: "2026-11-10", price: 0.55, want: "gcp 0.55 2026-11-10"},
		{asOf: "2026-11-11", price: 0.95, want: "aws 0.80 2026-11-11"},
		{asOf: "2026-11-01", price: 0.70, want: "gcp 0.70 2026-11-01"},
	}
	revisions := map[string]string{} // want → revision
	for i, s := range steps {
		if s.price != 0 {
			if err := fx.setPrice(s.asOf, s.price); err != nil {
				t.Fatal(err)
			}
		}
		uid := fmt.Sprintf("uid-%d", i)
		code, allowed, patch := mutate(fx.h, uid)
		if code != http.StatusOK || !allowed || len(patch) == 0 {
			t.Fatalf("step %d: status %d, allowed %v, patch %s", i, code, allowed, patch)
		}
		e := fx.log.Entries[len(fx.log.Entries)-1]
		var d Decision
		if err := json.Unmarshal(e.Placement, &d); err != nil {
			t.Fatalf("step %d: the log's decision: %v", i, err)
		}
		if got := fmt.Sprintf("%s %.2f %s", d.Cloud, d.PricePerHour, d.CatalogAsOf); got != s.want {
			t.Errorf("step %d: decision %s, want %s", i, got, s.want)
		}
		if !bytes.Contains(patch, []byte(fmt.Sprintf(`\"pricePerHour\":%g`, d.PricePerHour))) {
			t.Errorf("step %d: the patch's decision annotation lacks the price %g: %s", i, d.PricePerHour, patch)
		}
		if e.CatalogRevision != fx.prices.CatalogRevision() || len(e.CatalogRevision) != 12 {
			t.Errorf("step %d: logged catalog revision %q, in service %q", i, e.CatalogRevision, fx.prices.CatalogRevision())
		}
		if prev, ok := revisions[s.want]; ok && prev != e.CatalogRevision {
			t.Errorf("step %d: the same file has revision %s, earlier %s", i, e.CatalogRevision, prev)
		}
		revisions[s.want] = e.CatalogRevision
	}
	if len(revisions) != 3 {
		t.Errorf("three catalogs, revisions %v", revisions)
	}
}

// TestNoRequestFailsDuringReloads runs requests from several goroutines
// while the catalog file is rewritten and reloaded over and over (run it
// with -race): every request is admitted and patched, and each decision
// comes from one catalog, its price matching its as-of date, never from
// half of a swap.
func TestNoRequestFailsDuringReloads(t *testing.T) {
	fx := newReloadFixture(t)
	const workers, perWorker = 4, 60
	want := map[string]string{"2026-11-01": "gcp 0.70", "2026-11-10": "gcp 0.55"}

	ctx, cancel := context.WithCancel(context.Background())
	var swaps atomic.Int64
	swapErr := make(chan error, 1)
	go func() {
		defer close(swapErr)
		for i := 0; ctx.Err() == nil; i++ {
			asOf, price := "2026-11-10", 0.55
			if i%2 == 1 {
				asOf, price = "2026-11-01", 0.70
			}
			if err := fx.setPrice(asOf, price); err != nil {
				swapErr <- err
				return
			}
			swaps.Add(1)
		}
	}()

	var wg sync.WaitGroup
	var requests atomic.Int64
	failures := make(chan string, 100)
	for w := range workers {
		wg.Go(func() {
			// At least perWorker requests, and on until a few reloads
			// happened, however the scheduler shares the CPUs.
			for i := 0; i < perWorker || swaps.Load() < 4 && i < 100*perWorker; i++ {
				requests.Add(1)
				uid := fmt.Sprintf("w%d-%d", w, i)
				if code, allowed, patch := mutate(fx.h, uid); code != http.StatusOK || !allowed || len(patch) == 0 {
					select {
					case failures <- fmt.Sprintf("%s: status %d, allowed %v", uid, code, allowed):
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	cancel()
	if err := <-swapErr; err != nil {
		t.Fatalf("reloading: %v", err)
	}
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	seen := map[string]int{}
	revisions := map[string]string{} // as-of → the catalog revision logged with it
	for _, e := range fx.log.Entries {
		var d Decision
		if err := json.Unmarshal(e.Placement, &d); err != nil {
			t.Fatalf("%s: the log's decision: %v", e.UID, err)
		}
		got := fmt.Sprintf("%s %.2f", d.Cloud, d.PricePerHour)
		if want[d.CatalogAsOf] != got {
			t.Errorf("%s: %s from the catalog as of %s, which says %s", e.UID, got, d.CatalogAsOf, want[d.CatalogAsOf])
		}
		if r, ok := revisions[d.CatalogAsOf]; ok && r != e.CatalogRevision {
			t.Errorf("%s: logged with catalog revision %s, but the catalog as of %s is %s", e.UID, e.CatalogRevision, d.CatalogAsOf, r)
		}
		revisions[d.CatalogAsOf] = e.CatalogRevision
		seen[d.CatalogAsOf]++
	}
	if len(fx.log.Entries) != int(requests.Load()) {
		t.Errorf("%d decisions logged, want %d", len(fx.log.Entries), requests.Load())
	}
	t.Logf("%d requests during %d reloads; decisions per catalog: %v", requests.Load(), swaps.Load(), seen)
	if swaps.Load() < 2 || len(seen) < 2 {
		t.Errorf("the test did not overlap requests with reloads (%d reloads, catalogs %v)", swaps.Load(), seen)
	}
}

func TestSetPlacerIgnoresNil(t *testing.T) {
	ev := newTestEvaluator(t)
	before := ev.Placer()
	ev.SetPlacer(nil)
	if ev.Placer() != before || before == nil {
		t.Fatal("SetPlacer(nil) replaced the placer")
	}
	cat, err := costing.NewCatalog([]costing.Offer{{Cloud: "aws", Region: "us-east-1", InstanceType: "g6.xlarge", GPUModel: "L4",
		GPUCount: 1, VCPUs: 4, MemoryGiB: 16, PriceHourly: 0.8}}, nil, costing.Meta{AsOf: "2026-11-02"})
	if err != nil {
		t.Fatal(err)
	}
	p := placement.New(cat, nil)
	ev.SetPlacer(p)
	if ev.Placer() != p {
		t.Fatal("SetPlacer did not put the placer in service")
	}
}

// TestDecisionLogCatalogRevision: a priced decision records the revision
// of the catalog that priced it; one denied before pricing records the
// revision in service (HandlerOptions.CatalogRevision, default "none").
func TestDecisionLogCatalogRevision(t *testing.T) {
	embedded, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	badAnnotation := strings.Replace(string(l4Job("u")), `"metadata":{"name":"t",`, `"metadata":{"name":"t","annotations":{"quartermaster.io/expected-duration":"soon"},`, 1)
	tests := map[string]struct {
		option  func() string
		body    string
		allowed bool
		want    string
	}{
		"priced, the catalog's own revision":  {body: string(l4Job("u")), allowed: true, want: embedded.Meta().Revision},
		"not priced, no option":               {body: badAnnotation, want: "none"},
		"not priced, the revision in service": {option: func() string { return "abc" }, body: badAnnotation, want: "abc"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			log := &recorder{}
			h := newTestHandler(t, HandlerOptions{Mode: Mutate, Log: log, CatalogRevision: tc.option})
			r := httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"allowed":true`) != tc.allowed {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if len(log.Entries) != 1 || log.Entries[0].CatalogRevision != tc.want || len(tc.want) == 0 {
				t.Fatalf("logged %+v, want catalog revision %q", log.Entries, tc.want)
			}
		})
	}
}
