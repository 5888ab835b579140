package prometheus

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// The DCGM exporter's metrics this source reads.
const (
	// MetricEngineActive is the fraction of time the GPU's graphics or
	// compute engines were busy (0–1): the profiling metric, which counts
	// a kernel that keeps one SM of 132 busy as barely used.
	MetricEngineActive = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
	// MetricGPUUtil is the driver's utilisation in percent (0–100): the
	// share of time any kernel ran, however small. Used for GPUs without
	// profiling metrics (older models, or the exporter's default set
	// without them).
	MetricGPUUtil = "DCGM_FI_DEV_GPU_UTIL"
	// MetricMemoryUsed is the frame buffer in use, in MiB.
	MetricMemoryUsed = "DCGM_FI_DEV_FB_USED"
)

// Config says where the cluster's Prometheus is and what to ask it.
type Config struct {
	// URL is the Prometheus (or Thanos, Mimir) HTTP API base URL.
	URL string
	// Window is how far back utilisation is averaged; it should hold
	// several scrape intervals. DefaultWindow when zero.
	Window time.Duration
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds each query (and is passed to Prometheus as its
	// query timeout). DefaultTimeout when zero.
	Timeout time.Duration
	// Now is the evaluation time of the queries; nil means time.Now.
	Now func() time.Time
}

// Defaults: a day of history catches a GPU idle overnight, which a shorter
// window would call busy because of one evening job.
const (
	DefaultWindow  = 24 * time.Hour
	DefaultTimeout = 2 * time.Minute
)

// Source reads per-GPU utilisation from a cluster's Prometheus.
type Source struct {
	api     promv1.API
	cfg     Config
	window  string
	timeout time.Duration
}

// New checks cfg and builds the Prometheus API client.
func New(cfg Config) (*Source, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("prometheus: no URL")
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Window < time.Minute {
		return nil, fmt.Errorf("prometheus: window %v: want at least 1m, several scrape intervals", cfg.Window)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, Client: cfg.Client})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", cfg.URL, err)
	}
	return &Source{api: promv1.NewAPI(c), cfg: cfg, window: model.Duration(cfg.Window).String(), timeout: cfg.Timeout}, nil
}

// gpuKey identifies one GPU's use by one pod in the exporter's labels: the
// node, the GPU's UUID (the index alone repeats on every node, and a UUID
// survives a reboot that renumbers GPUs) and the pod it was attributed to.
// A GPU that served two pods in the window is two series, and two records:
// each pod's use is judged over the samples it held the GPU for.
type gpuKey struct{ node, gpu, namespace, pod string }

func (k gpuKey) id() string {
	id := k.node + "/" + k.gpu
	if k.pod != "" {
		id += "/" + k.namespace + "/" + k.pod
	}
	return id
}

// Scan emits one GPUUsage resource per GPU that reported in the window,
// for the cluster account a. Each GPU's utilisation comes from
// DCGM_FI_PROF_GR_ENGINE_ACTIVE when it has that metric, else from
// DCGM_FI_DEV_GPU_UTIL; the record names which.
func (s *Source) Scan(ctx context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	now := s.cfg.Now()
	// Driver utilisation first, then the profiling metric, which
	// overwrites it for the GPUs that have one.
	metrics := []struct {
		name  string
		scale float64
	}{{MetricGPUUtil, 0.01}, {MetricEngineActive, 1}}
	var means, peaks [2]model.Vector
	for i, m := range metrics {
		var err error
		if means[i], err = s.query(ctx, fmt.Sprintf("avg_over_time(%s[%s])", m.name, s.window), now); err != nil {
			return err
		}
		if peaks[i], err = s.query(ctx, fmt.Sprintf("max_over_time(%s[%s])", m.name, s.window), now); err != nil {
			return err
		}
	}
	mem, err := s.query(ctx, fmt.Sprintf("avg_over_time(%s[%s])", MetricMemoryUsed, s.window), now)
	if err != nil {
		return err
	}
	targets := exporterPods(append(append(means[0], means[1]...), mem...))
	usage := map[gpuKey]*inventory.GPUUsage{}
	for i, m := range metrics {
		peak := map[gpuKey]float64{}
		for _, smp := range peaks[i] {
			peak[keyOf(smp.Metric, targets)] = float64(smp.Value)
		}
		for _, smp := range means[i] {
			k := keyOf(smp.Metric, targets)
			if k.gpu == "" || k.node == "" {
				continue // a series without the labels that place it: not attributable
			}
			u := usage[k]
			if u == nil {
				u = &inventory.GPUUsage{Node: k.node, GPU: k.gpu, Pod: k.pod, PodNamespace: k.namespace, Window: s.cfg.Window}
				usage[k] = u
			}
			u.Metric = m.name
			u.MeanUtilisation = clamp(float64(smp.Value) * m.scale)
			u.MaxUtilisation = clamp(peak[k] * m.scale)
		}
	}
	for _, smp := range mem {
		if u := usage[keyOf(smp.Metric, targets)]; u != nil {
			u.MemoryUsedMiB = float64(smp.Value)
		}
	}
	keys := make([]gpuKey, 0, len(usage))
	for k := range usage {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y gpuKey) int { return strings.Compare(x.id(), y.id()) })
	for _, k := range keys {
		if err := emit(&inventory.Resource{Kind: inventory.KindGPUUsage, ID: k.id(), Account: a.ID,
			Cloud: inventory.CloudKube, Observed: now, GPUUsage: usage[k]}); err != nil {
			return err
		}
	}
	return nil
}

// query runs an instant query and returns its vector.
func (s *Source) query(ctx context.Context, q string, at time.Time) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, _, _, err := s.api.Query(ctx, q, at, promv1.WithTimeout(s.timeout))
	if err != nil {
		return nil, fmt.Errorf("querying %s for %s: %w", s.cfg.URL, q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("querying %s for %s: got a %s, want a vector", s.cfg.URL, q, v.Type())
	}
	return vec, nil
}

// keyOf reads the GPU's node and identity from the exporter's labels:
// Hostname (the node, as the exporter reports it), UUID, else the gpu index;
// and the pod it is attributed to (podOf).
func keyOf(m model.Metric, targets map[targetPod]bool) gpuKey {
	gpu := string(m["UUID"])
	if gpu == "" {
		gpu = string(m["gpu"])
	}
	pod, ns := podOf(m, targets)
	return gpuKey{node: string(m["Hostname"]), gpu: gpu, namespace: ns, pod: pod}
}

// targetPod is the exporter's own pod as a scrape target label.
type targetPod struct{ instance, namespace, pod string }

// exporterPods finds the exporter's own pods among the series' labels.
// When Prometheus scrapes the exporter through Kubernetes service discovery
// (a ServiceMonitor without honorLabels), it labels every series with the
// exporter's pod and namespace, and renames the exporter's own labels, the
// workload's, to exported_pod and exported_namespace. A GPU no pod holds
// has no exporter labels to rename, so its series carries the exporter's
// pod as if it were the workload: the pods that appear beside an
// exported_pod on the same target are the exporter's, and are not
// workloads.
func exporterPods(vs model.Vector) map[targetPod]bool {
	out := map[targetPod]bool{}
	for _, smp := range vs {
		if smp.Metric["exported_pod"] != "" {
			out[targetPod{string(smp.Metric["instance"]), string(smp.Metric["namespace"]), string(smp.Metric["pod"])}] = true
		}
	}
	return out
}

// podOf returns the pod the exporter attributes the GPU to: exported_pod
// when Prometheus renamed the exporter's labels, else pod, unless that is
// the exporter's own (exporterPods).
func podOf(m model.Metric, targets map[targetPod]bool) (pod, namespace string) {
	if p := m["exported_pod"]; p != "" {
		return string(p), string(m["exported_namespace"])
	}
	if targets[targetPod{string(m["instance"]), string(m["namespace"]), string(m["pod"])}] {
		return "", ""
	}
	return string(m["pod"]), string(m["namespace"])
}

func clamp(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return math.Max(0, math.Min(1, f))
}

// Scanner reads the GPU utilisation of each kubernetes account from the
// Prometheus its accounts-file entry names (inventory.Account.Prometheus),
// for inventory.Runner; an account without one has no GPU metrics and
// gives none. Config.URL is ignored: each account brings its own.
type Scanner struct{ Config Config }

// Scan reads a's Prometheus.
func (s Scanner) Scan(ctx context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	if a.Prometheus == "" {
		return nil
	}
	cfg := s.Config
	cfg.URL = a.Prometheus
	src, err := New(cfg)
	if err != nil {
		return err
	}
	return src.Scan(ctx, a, emit)
}
