package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
)

// webhookProc is a standalone webhook started by a test through execute,
// as main starts it.
type webhookProc struct {
	base, metrics string
	client        *http.Client
	stderr        *bytes.Buffer
	cancel        func()
	done          chan int
}

func startStandalone(t *testing.T, dir string, extra ...string) *webhookProc {
	t.Helper()
	writeCert(t, dir)
	state := filepath.Join(dir, "state.yaml")
	os.WriteFile(state, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: vision, labels: {quartermaster.io/team: vision}}\n"), 0o600)
	port, metricsPort := freePort(t), freePort(t)
	args := append([]string{"--cert-dir", dir, "--bind-address", "127.0.0.1", "--port", strconv.Itoa(port),
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(metricsPort), "--health-probe-bind-address", "0",
		"--standalone", "--cluster-state", state}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	p := &webhookProc{base: "https://127.0.0.1:" + strconv.Itoa(port), metrics: "http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics",
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}},
		stderr: &bytes.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { p.done <- execute(ctx, args, p.stderr, run) }()
	for i := 0; ; i++ {
		resp, err := p.client.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if i == 200 {
			cancel()
			t.Fatalf("webhook did not come up: %v\n%s", err, p.stderr)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop shuts the webhook down and checks its exit code.
func (p *webhookProc) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	if code := <-p.done; code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
}

var priceInPatch = regexp.MustCompile(`\\"pricePerHour\\":([0-9.]+)`)

// price sends a one-GPU Job to /mutate and returns the pricePerHour of its
// decision annotation; any other answer fails the test.
func (p *webhookProc) price(t *testing.T, uid string) float64 {
	t.Helper()
	job := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + uid + `","kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":"vision","userInfo":{"username":"bob"},"object":` +
		`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"t","namespace":"vision"},"spec":{"template":{"spec":{"serviceAccountName":"trainer","containers":[{"name":"c","image":"ghcr.io/example/train:1","resources":{"limits":{"nvidia.com/gpu":1}}}]}}}}}}`
	resp, err := p.client.Post(p.base+"/mutate", "application/json", strings.NewReader(job))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rev struct {
		Response struct {
			Allowed bool   `json:"allowed"`
			Patch   []byte `json:"patch"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &rev); err != nil || resp.StatusCode != 200 || !rev.Response.Allowed {
		t.Fatalf("mutate %s: %d %s", uid, resp.StatusCode, body)
	}
	m := priceInPatch.FindSubmatch(rev.Response.Patch)
	if m == nil {
		t.Fatalf("mutate %s: no pricePerHour in the patch %s", uid, rev.Response.Patch)
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (p *webhookProc) scrape(t *testing.T) string {
	t.Helper()
	r, err := http.Get(p.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// l4Catalog prices one L4 GPU at gcpPrice on GCP and 0.80 on AWS.
func l4Catalog(asOf string, gcpPrice float64) string {
	return "# as-of: " + asOf + "\n" +
		"cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n" +
		fmt.Sprintf("gcp,us-central1,,g2-standard-4,L4,1,24,4,16,%g,,\n", gcpPrice) +
		"aws,us-east-1,,g6.xlarge,L4,1,24,4,16,0.80,,\n"
}

// swapConfigMap publishes files in dir the way the kubelet updates a
// mounted ConfigMap: a new timestamped directory, and a ..data symlink
// renamed over the old one. The first call also makes the per-key links.
func swapConfigMap(t *testing.T, dir string, gen int, files map[string]string) {
	t.Helper()
	ts := fmt.Sprintf("..2026_11_29_%d", gen)
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, name)); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestStandaloneReloadsCatalogAndQuota starts the webhook with --catalog
// and --quota from a ConfigMap-shaped directory and changes them as a
// ConfigMap update does: a new price is in the next decisions within the
// reload interval, a broken catalog is counted and the last good one keeps
// serving, a quota change moves the placement, and the decision log names
// the catalog revision of each decision.
func TestStandaloneReloadsCatalogAndQuota(t *testing.T) {
	dir := t.TempDir()
	cm := filepath.Join(dir, "config")
	if err := os.Mkdir(cm, 0o755); err != nil {
		t.Fatal(err)
	}
	const noQuota = "quotas: []\n"
	swapConfigMap(t, cm, 1, map[string]string{"catalog.csv": l4Catalog("2026-11-01", 0.70), "quotas.yaml": noQuota})
	logPath := filepath.Join(dir, "decisions.log")
	const interval = 200 * time.Millisecond
	p := startStandalone(t, dir, "--catalog", filepath.Join(cm, "catalog.csv"), "--quota", filepath.Join(cm, "quotas.yaml"),
		"--catalog-reload-interval", interval.String(), "--decision-log", logPath)
	defer func() {
		if p.cancel != nil {
			p.cancel()
		}
	}()
	uid := 0
	next := func() float64 { uid++; return p.price(t, "reload-"+strconv.Itoa(uid)) }
	// waitFor sends requests until the price is want (every one of them
	// must succeed) and returns how long the reload took to show. Its
	// bound is well under the default 10 s interval, so that passing
	// proves --catalog-reload-interval is used.
	waitFor := func(what string, want float64) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			got := next()
			if got == want {
				return time.Since(start)
			}
			if time.Since(start) > 25*interval {
				t.Fatalf("%s: price still %v, want %v\n%s", what, got, want, p.stderr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := next(); got != 0.70 {
		t.Fatalf("first decision at %v, want 0.70", got)
	}
	metrics := p.scrape(t)
	for _, want := range []string{
		`quartermaster_catalog_as_of_timestamp_seconds 1.7934912e+09`,
		`quartermaster_catalog_offers 2`,
		`quartermaster_webhook_reloads_total{source="catalog"} 0`,
		`quartermaster_webhook_reload_failures_total{source="catalog"} 0`,
		`quartermaster_catalog_age_seconds `,
		`quartermaster_catalog_info{revision="`,
		`quartermaster_quota_info{revision="`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// A cheaper GCP price: the next decisions use it.
	swapConfigMap(t, cm, 2, map[string]string{"catalog.csv": l4Catalog("2026-11-20", 0.55), "quotas.yaml": noQuota})
	took := waitFor("new price", 0.55)
	t.Logf("a new price was in the decisions %v after the ConfigMap swap (interval %v)", took.Round(time.Millisecond), interval)

	// A broken catalog: counted, and 0.55 keeps serving.
	swapConfigMap(t, cm, 3, map[string]string{"catalog.csv": l4Catalog("2026-11-21", 0.40) + "gcp,us-central1,,g2-standard-8,L4,two,24,8,32,0.9,,\n", "quotas.yaml": noQuota})
	deadline := time.Now().Add(25 * interval)
	for !strings.Contains(p.scrape(t), `quartermaster_webhook_reload_failures_total{source="catalog"} 1`) {
		if got := next(); got != 0.55 {
			t.Fatalf("a broken catalog changed the price to %v", got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broken catalog was not counted:\n%s", p.scrape(t))
		}
		time.Sleep(interval / 4)
	}
	time.Sleep(2 * interval) // more checks of the same broken file
	if got := next(); got != 0.55 {
		t.Fatalf("after a broken catalog: %v, want 0.55", got)
	}
	metrics = p.scrape(t)
	for _, want := range []string{
		`quartermaster_webhook_reload_failures_total{source="catalog"} 1`, // once, however many checks
		`quartermaster_webhook_reload_failing{source="catalog"} 1`,
		`quartermaster_webhook_reloads_total{source="catalog"} 1`,
		`quartermaster_catalog_as_of_timestamp_seconds 1.7951328e+09`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("after a broken catalog, metrics lack %q", want)
		}
	}
	if !strings.Contains(p.stderr.String(), "reload rejected; keeping the version in service") {
		t.Errorf("the rejection was not logged:\n%s", p.stderr)
	}

	// A quota with no room on GCP: the AWS offer wins. The catalog is
	// fixed at the same time.
	swapConfigMap(t, cm, 4, map[string]string{"catalog.csv": l4Catalog("2026-11-20", 0.55),
		"quotas.yaml": "quotas: [{cloud: gcp, region: us-central1, gpuModel: L4, gpus: 0}]\n"})
	waitFor("quota", 0.80)
	metrics = p.scrape(t)
	for _, want := range []string{
		`quartermaster_webhook_reload_failing{source="catalog"} 0`,
		`quartermaster_webhook_reloads_total{source="quota"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("after the quota change, metrics lack %q", want)
		}
	}

	p.stop(t)
	p.cancel = nil
	rep, err := decisionlog.VerifyFiles([]string{logPath})
	if err != nil || rep.Problem != nil || rep.Lines != uid {
		t.Fatalf("decision log: %+v %v (%d requests)", rep, err, uid)
	}
	// Each logged decision names the catalog it was priced from: one
	// revision per price seen (0.70 and 0.55, the latter also under the
	// new quota: same catalog content, same revision).
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	byPrice := map[string]map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e struct {
			CatalogRevision string `json:"catalogRevision"`
			Placement       struct {
				CatalogAsOf string `json:"catalogAsOf"`
			} `json:"placement"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.CatalogRevision) != 12 {
			t.Fatalf("catalogRevision %q in %s", e.CatalogRevision, line)
		}
		if byPrice[e.Placement.CatalogAsOf] == nil {
			byPrice[e.Placement.CatalogAsOf] = map[string]bool{}
		}
		byPrice[e.Placement.CatalogAsOf][e.CatalogRevision] = true
	}
	if len(byPrice) != 2 || len(byPrice["2026-11-01"]) != 1 || len(byPrice["2026-11-20"]) != 1 {
		t.Errorf("catalog revisions by as-of date: %v", byPrice)
	}
}
