package prometheus

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// dcgmExporter serves metrics in the shape of NVIDIA's dcgm-exporter with
// its Kubernetes pod mapping on:
//   - GPU 0 runs a pod that keeps a kernel resident but the engines idle:
//     the driver says 100% busy, the profiling metric 2%;
//   - GPU 1 has no profiling metrics (the driver metric only), 85% busy;
//   - GPU 2 holds no pod and its engines are 90% busy (a daemon).
const dcgmExporter = `# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %%).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1",container="trainer",namespace="ml",pod="train-0"} 100
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-bbbb",device="nvidia1",modelName="Tesla T4",Hostname="gpu-node-1",container="server",namespace="search",pod="embed-7d9"} %d
DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-cccc",device="nvidia2",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1"} 95
# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Ratio of time the graphics engine is active.
# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1",container="trainer",namespace="ml",pod="train-0"} 0.02
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="2",UUID="GPU-cccc",device="nvidia2",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1"} 0.9
# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1",container="trainer",namespace="ml",pod="train-0"} 512
DCGM_FI_DEV_FB_USED{gpu="1",UUID="GPU-bbbb",device="nvidia1",modelName="Tesla T4",Hostname="gpu-node-1",container="server",namespace="search",pod="embed-7d9"} 9000
DCGM_FI_DEV_FB_USED{gpu="2",UUID="GPU-cccc",device="nvidia2",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1"} 70000
`

// startPrometheus runs the real Prometheus (Debian's package; make test
// installs it) scraping target every second, as the job name job, with
// the extra target labels given (a pod label here makes Prometheus rename
// the exporter's own to exported_pod, as Kubernetes service discovery
// does).
func startPrometheus(t *testing.T, target string, targetLabels string) string {
	t.Helper()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: dcgm
  static_configs:
  - targets: [%q]
    labels: {%s}
`, target, targetLabels)
	addr := runPrometheus(t, cfg, filepath.Join(t.TempDir(), "data"))
	base := "http://" + addr
	// Ready, then enough scrapes for the window to hold several samples.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape("count_over_time(DCGM_FI_DEV_FB_USED[1m])"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), `"value":[`) && !strings.Contains(string(body), `,"1"]`) &&
				!strings.Contains(string(body), `,"2"]`) && !strings.Contains(string(body), `,"3"]`) {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s did not collect 4 scrapes in 60 s (last error %v)", base, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runPrometheus starts Prometheus with the configuration given over the
// TSDB directory given, and returns its address once it is ready.
func runPrometheus(t *testing.T, cfg, data string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (Debian package prometheus; make test installs it): %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=30d", "--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", log)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready in 60 s (last error %v)", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestScanAgainstRealPrometheus(t *testing.T) {
	util1 := 80 // GPU 1 alternates between 80% and 90%: a mean of 85, a peak of 90
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		util1 = 170 - util1
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, dcgmExporter, util1)
	}))
	defer exporter.Close()
	tests := map[string]struct {
		labels string
	}{
		"scraped directly":                {`cluster: "prod-eu"`},
		"scraped with a pod target label": {`pod: "dcgm-exporter-x2v", namespace: "gpu-operator"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base := startPrometheus(t, strings.TrimPrefix(exporter.URL, "http://"), tc.labels)
			src, err := New(Config{URL: base, Window: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*inventory.GPUUsage{}
			err = src.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "prod-eu"}, func(r *inventory.Resource) error {
				if err := r.Validate(); err != nil {
					return err
				}
				if r.Account != "prod-eu" || r.Cloud != inventory.CloudKube {
					t.Errorf("%s: account %s cloud %s", r.ID, r.Account, r.Cloud)
				}
				got[r.ID] = r.GPUUsage
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]inventory.GPUUsage{
				"gpu-node-1/GPU-aaaa/ml/train-0":       {Pod: "train-0", PodNamespace: "ml", Metric: MetricEngineActive, MeanUtilisation: 0.02, MaxUtilisation: 0.02, MemoryUsedMiB: 512},
				"gpu-node-1/GPU-bbbb/search/embed-7d9": {Pod: "embed-7d9", PodNamespace: "search", Metric: MetricGPUUtil, MeanUtilisation: 0.85, MaxUtilisation: 0.9, MemoryUsedMiB: 9000},
				"gpu-node-1/GPU-cccc":                  {Metric: MetricEngineActive, MeanUtilisation: 0.9, MaxUtilisation: 0.9, MemoryUsedMiB: 70000},
			}
			if len(got) != len(want) {
				t.Fatalf("got %d GPU records %v, want %d", len(got), keys(got), len(want))
			}
			for id, w := range want {
				g := got[id]
				if g == nil {
					t.Errorf("no record %s (got %v)", id, keys(got))
					continue
				}
				// GPU 1's mean depends on how many 80s and 90s fell in the
				// window: within 5 points of 85.
				tol := 1e-9
				if id == "gpu-node-1/GPU-bbbb/search/embed-7d9" {
					tol = 0.05
				}
				if g.Pod != w.Pod || g.PodNamespace != w.PodNamespace || g.Metric != w.Metric || g.Node != "gpu-node-1" ||
					math.Abs(g.MeanUtilisation-w.MeanUtilisation) > tol || math.Abs(g.MaxUtilisation-w.MaxUtilisation) > 1e-9 ||
					g.MemoryUsedMiB != w.MemoryUsedMiB || g.Window != time.Minute {
					t.Errorf("%s: got %+v, want %+v", id, *g, w)
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestScanReportsAnUnreachablePrometheus(t *testing.T) {
	src, err := New(Config{URL: "http://127.0.0.1:1", Window: time.Hour, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "c"}, func(*inventory.Resource) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "querying http://127.0.0.1:1 for avg_over_time(DCGM_FI_DEV_GPU_UTIL[1h])") {
		t.Errorf("err = %v, want the URL and the query named", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for cfg, want := range map[*Config]string{
		{}:                                     "no URL",
		{URL: "http://p", Window: time.Second}: "want at least 1m",
		{URL: "::bad", Window: time.Hour}:      "prometheus ::bad",
	} {
		if _, err := New(*cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%+v) = %v, want %q", *cfg, err, want)
		}
	}
}

// TestScanOverBackfilledDay reads a day of DCGM history that promtool
// backfilled into Prometheus's TSDB (one sample a minute, as a real
// exporter scraped for 24 hours): a GPU idle all day; one idle but for a
// nightly hour at 60% (mean under 5%, peak over 20%: the bursty job the
// peak threshold keeps off the idle list); one without profiling metrics,
// busy by the driver's count. The day's mean and peak come back exactly.
func TestScanOverBackfilledDay(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (Debian package prometheus; make test installs it): %v", err)
	}
	end := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	const samples = 24 * 60
	series := []struct {
		metric, labels string
		value          func(i int) float64 // sample i of the day, 0 the oldest
	}{
		{MetricEngineActive, `Hostname="gpu-node-1",UUID="GPU-aaaa",namespace="ml",pod="train-0"`,
			func(i int) float64 { return 0.01 + 0.02*float64(i%2) }},
		{MetricMemoryUsed, `Hostname="gpu-node-1",UUID="GPU-aaaa",namespace="ml",pod="train-0"`,
			func(int) float64 { return 2048 }},
		{MetricEngineActive, `Hostname="gpu-node-1",UUID="GPU-bbbb",namespace="eval",pod="nightly-eval"`,
			func(i int) float64 {
				if i >= 120 && i < 180 {
					return 0.6
				}
				return 0.02
			}},
		{MetricMemoryUsed, `Hostname="gpu-node-1",UUID="GPU-bbbb",namespace="eval",pod="nightly-eval"`,
			func(i int) float64 { return float64(1000 + i) }},
		{MetricGPUUtil, `Hostname="gpu-node-2",UUID="GPU-cccc",namespace="search",pod="embed-0"`,
			func(i int) float64 { return float64(70 + 20*(i%2)) }},
		{MetricMemoryUsed, `Hostname="gpu-node-2",UUID="GPU-cccc",namespace="search",pod="embed-0"`,
			func(int) float64 { return 9000 }},
	}
	var om strings.Builder
	for _, m := range []string{MetricEngineActive, MetricGPUUtil, MetricMemoryUsed} {
		fmt.Fprintf(&om, "# TYPE %s gauge\n", m)
		for _, s := range series {
			if s.metric != m {
				continue
			}
			for i := range samples {
				at := end.Add(-time.Duration(samples-1-i) * time.Minute)
				fmt.Fprintf(&om, "%s{%s} %g %d\n", s.metric, s.labels, s.value(i), at.Unix())
			}
		}
	}
	om.WriteString("# EOF\n")
	dir := t.TempDir()
	input, data := filepath.Join(dir, "dcgm.om"), filepath.Join(dir, "data")
	if err := os.WriteFile(input, []byte(om.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", input, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool backfill: %v\n%s", err, out)
	}
	addr := runPrometheus(t, "global: {scrape_interval: 1m}\n", data)

	src, err := New(Config{URL: "http://" + addr, Window: 24 * time.Hour, Now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*inventory.GPUUsage{}
	err = src.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "prod-eu"}, func(r *inventory.Resource) error {
		got[r.ID] = r.GPUUsage
		return r.Validate()
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]inventory.GPUUsage{
		"gpu-node-1/GPU-aaaa/ml/train-0":        {Metric: MetricEngineActive, MeanUtilisation: 0.02, MaxUtilisation: 0.03, MemoryUsedMiB: 2048},
		"gpu-node-1/GPU-bbbb/eval/nightly-eval": {Metric: MetricEngineActive, MeanUtilisation: (60*0.6 + 1380*0.02) / 1440, MaxUtilisation: 0.6, MemoryUsedMiB: 1000 + 1439.0/2},
		"gpu-node-2/GPU-cccc/search/embed-0":    {Metric: MetricGPUUtil, MeanUtilisation: 0.8, MaxUtilisation: 0.9, MemoryUsedMiB: 9000},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %d records", keys(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		if g == nil {
			t.Errorf("no record %s (got %v)", id, keys(got))
			continue
		}
		if g.Metric != w.Metric || math.Abs(g.MeanUtilisation-w.MeanUtilisation) > 1e-9 || math.Abs(g.MaxUtilisation-w.MaxUtilisation) > 1e-9 ||
			math.Abs(float64(g.MemoryUsedMiB)-w.MemoryUsedMiB) > 0.5 || g.Window != 24*time.Hour {
			t.Errorf("%s: got %+v, want %+v", id, *g, w)
		}
	}
}
