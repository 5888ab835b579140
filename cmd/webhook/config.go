package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/clusterstate"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Config is every setting of the webhook binary, in one place. Each flag
// may also come from the environment as QUARTERMASTER_<FLAG>, with dashes
// as underscores (QUARTERMASTER_CERT_DIR); a flag on the command line wins.
type Config struct {
	CertDir                string
	CertReloadInterval     time.Duration
	BindAddress            string
	Port                   int
	MetricsBindAddress     string
	HealthProbeBindAddress string

	// Policies is the Rego bundle directory, hot-reloaded every
	// PolicyReloadInterval; empty means the embedded default library.
	Policies             string
	PolicyReloadInterval time.Duration
	Catalog              string
	CatalogFormat        string
	CatalogCloud         string
	Quota                string
	// CatalogReloadInterval is how often the --catalog and --quota files
	// are checked for a change: one interval for both, since the chart
	// mounts them from one ConfigMap and a price and a quota change are
	// often one edit.
	CatalogReloadInterval time.Duration

	// LabelProfile is the cluster's node label convention (quartermaster,
	// karpenter, eks, gke, aks); LabelKeys override its fields, NAME=VALUE.
	LabelProfile string
	LabelKeys    []string
	// ProvisionableFilter is auto, on or off: whether offers the cluster
	// has no Ready node or Karpenter NodePool for are skipped. auto means
	// on with an API server, and in --standalone only when --cluster-state
	// holds Nodes or NodePools.
	ProvisionableFilter string

	Kubeconfig   string
	Standalone   bool
	ClusterState string
	Usage        string
	Inventory    string
	// WorkloadRules describes more kinds (CRDs) besides the built-in ones.
	WorkloadRules string

	Deadline        time.Duration
	DeadlineOutcome string
	MaxBodyBytes    int64

	DecisionLog         string
	DecisionLogMaxBytes int64
	DecisionLogMaxFiles int

	// Profiling serves net/http/pprof beside /metrics (benchmarks).
	Profiling bool
	// EnableHTTP2 lets the API server speak HTTP/2 to the webhook; off by
	// default, as in kubebuilder's scaffolding since the HTTP/2 rapid-reset
	// attacks (CVE-2023-44487, CVE-2023-39325), and HTTP/1.1 is also the
	// faster of the two here: one goroutine reads, decides and writes each
	// request, with no hand-offs between a connection's reader, the handler
	// and its writer.
	EnableHTTP2 bool

	// Verbosity 0 logs starts, stops and faults; 4 adds one line per
	// request.
	Verbosity int
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		CertReloadInterval:     10 * time.Second,
		PolicyReloadInterval:   10 * time.Second,
		CatalogReloadInterval:  10 * time.Second,
		Port:                   9443,
		MetricsBindAddress:     ":8080",
		HealthProbeBindAddress: ":8081",
		CatalogFormat:          "csv",
		LabelProfile:           workload.ProfileQuartermaster,
		ProvisionableFilter:    string(clusterstate.ProvisionableAuto),
		Deadline:               admission.DefaultDeadline,
		DeadlineOutcome:        string(admission.OutcomeDeny),
		MaxBodyBytes:           admission.DefaultMaxBodyBytes,
		DecisionLogMaxBytes:    100 << 20,
		DecisionLogMaxFiles:    10,
	}
}

// AddFlags binds the config to fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.CertDir, "cert-dir", c.CertDir, "directory holding tls.crt and tls.key (reloaded when they change)")
	fs.DurationVar(&c.CertReloadInterval, "cert-reload-interval", c.CertReloadInterval, "how often to look for a renewed certificate")
	fs.StringVar(&c.BindAddress, "bind-address", c.BindAddress, "address the webhook listens on (empty: all)")
	fs.IntVar(&c.Port, "port", c.Port, "HTTPS port of /mutate and /validate")
	fs.StringVar(&c.MetricsBindAddress, "metrics-bind-address", c.MetricsBindAddress, "address of /metrics (0 disables)")
	fs.StringVar(&c.HealthProbeBindAddress, "health-probe-bind-address", c.HealthProbeBindAddress, "address of /healthz and /readyz (0 disables)")
	fs.StringVar(&c.Policies, "policies", c.Policies, "Rego policy bundle directory, hot-reloaded (default: the embedded library)")
	fs.DurationVar(&c.PolicyReloadInterval, "policy-reload-interval", c.PolicyReloadInterval, "how often to look for a changed --policies directory")
	fs.StringVar(&c.Catalog, "catalog", c.Catalog, "offer catalog file (default: the embedded catalog)")
	fs.StringVar(&c.CatalogFormat, "catalog-format", c.CatalogFormat, "catalog file format: csv or skypilot")
	fs.StringVar(&c.CatalogCloud, "catalog-cloud", c.CatalogCloud, "the cloud of a skypilot catalog")
	fs.StringVar(&c.Quota, "quota", c.Quota, "GPU quota file: quotas: [{cloud, region, gpuModel, gpus}]")
	fs.DurationVar(&c.CatalogReloadInterval, "catalog-reload-interval", c.CatalogReloadInterval, "how often to look for a changed --catalog or --quota file")
	fs.StringVar(&c.LabelProfile, "label-profile", c.LabelProfile, "node label convention placement pins on: "+strings.Join(workload.ProfileNames(), ", "))
	fs.StringArrayVar(&c.LabelKeys, "label-key", c.LabelKeys, "override one field of the label profile, NAME=VALUE (cloud, region, instanceType, capacityType, spotTaint, spotTaintValue, spotValue, onDemandValue, clusterCloud; repeatable)")
	fs.StringVar(&c.ProvisionableFilter, "provisionable-filter", c.ProvisionableFilter, "skip offers no Ready node or Karpenter NodePool can provide: auto (on with an API server; standalone: when --cluster-state holds Nodes or NodePools), on or off")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "kubeconfig file (default: in-cluster config, then $KUBECONFIG)")
	fs.BoolVar(&c.Standalone, "standalone", c.Standalone, "run without an API server, from --cluster-state and --inventory")
	fs.StringVar(&c.ClusterState, "cluster-state", c.ClusterState, "standalone: StorageClasses, PVCs and Namespaces as Kubernetes YAML")
	fs.StringVar(&c.Usage, "usage", c.Usage, "standalone: GPUs already in use, in the quota file's shape")
	fs.StringVar(&c.WorkloadRules, "workload-rules", c.WorkloadRules, "workload rules file describing more kinds (CRDs) to place and judge: rules: [{group, kind, class, podSets}]")
	fs.StringVar(&c.Inventory, "inventory", c.Inventory, "dataset facts (YAML): datasets: [{location, cloud, region, encrypted, keyKind, sizeBytes}]")
	fs.DurationVar(&c.Deadline, "deadline", c.Deadline, "internal deadline of one decision (keep well under the registration's timeoutSeconds)")
	fs.StringVar(&c.DeadlineOutcome, "deadline-outcome", c.DeadlineOutcome, "answer when a decision misses the deadline or fails: deny or allow")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest AdmissionReview accepted")
	fs.StringVar(&c.DecisionLog, "decision-log", c.DecisionLog, "decision log file (empty: no log)")
	fs.Int64Var(&c.DecisionLogMaxBytes, "decision-log-max-bytes", c.DecisionLogMaxBytes, "rotate the decision log at this size")
	fs.IntVar(&c.DecisionLogMaxFiles, "decision-log-max-files", c.DecisionLogMaxFiles, "rotated decision logs kept")
	fs.BoolVar(&c.Profiling, "profiling", c.Profiling, "serve /debug/pprof/ on the metrics address")
	fs.BoolVar(&c.EnableHTTP2, "enable-http2", c.EnableHTTP2, "offer HTTP/2 on the webhook port (default HTTP/1.1 only)")
	fs.IntVarP(&c.Verbosity, "v", "v", c.Verbosity, "log verbosity: 0 events and faults, 4 every request")
}

// Complete applies environment fallbacks and validates.
func (c *Config) Complete(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		env := "QUARTERMASTER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.Validate()
}

// Labels resolves --label-profile and --label-key.
func (c *Config) Labels() (workload.LabelKeys, error) {
	return workload.ResolveLabelKeys(c.LabelProfile, c.LabelKeys)
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.CertDir == "" {
		bad("--cert-dir is required (a directory with tls.crt and tls.key)")
	} else if info, err := os.Stat(c.CertDir); err != nil || !info.IsDir() {
		bad("--cert-dir %q: not a directory", c.CertDir)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("--port %d: want 1-65535", c.Port)
	}
	for name, addr := range map[string]string{"--metrics-bind-address": c.MetricsBindAddress, "--health-probe-bind-address": c.HealthProbeBindAddress} {
		if addr == "0" {
			continue
		}
		if _, port, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q: want host:port or 0", name, addr)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			bad("%s %q: bad port", name, addr)
		}
	}
	switch c.CatalogFormat {
	case "csv", "skypilot":
	default:
		bad("--catalog-format %q: want csv or skypilot", c.CatalogFormat)
	}
	if c.Standalone {
		if c.Kubeconfig != "" {
			bad("--standalone and --kubeconfig exclude each other")
		}
	} else if c.ClusterState != "" || c.Usage != "" {
		bad("--cluster-state and --usage need --standalone (with an API server, informers provide them)")
	}
	if _, err := c.Labels(); err != nil {
		bad("--label-profile/--label-key: %v", err)
	}
	if _, err := clusterstate.ParseProvisionableMode(c.ProvisionableFilter); err != nil {
		bad("--provisionable-filter: %v", err)
	}
	if c.PolicyReloadInterval < 100*time.Millisecond {
		bad("--policy-reload-interval %s: want at least 100ms", c.PolicyReloadInterval)
	}
	if c.CatalogReloadInterval < 100*time.Millisecond {
		bad("--catalog-reload-interval %s: want at least 100ms", c.CatalogReloadInterval)
	}
	if c.Deadline <= 0 || c.Deadline > 25*time.Second {
		bad("--deadline %s: want more than 0 and at most 25s (the API server waits at most 30s)", c.Deadline)
	}
	switch admission.DeadlineOutcome(c.DeadlineOutcome) {
	case admission.OutcomeDeny, admission.OutcomeAllow:
	default:
		bad("--deadline-outcome %q: want deny or allow", c.DeadlineOutcome)
	}
	if c.MaxBodyBytes < 1<<10 {
		bad("--max-body-bytes %d: want at least 1024", c.MaxBodyBytes)
	}
	if c.DecisionLogMaxBytes < 1<<10 {
		bad("--decision-log-max-bytes %d: want at least 1024", c.DecisionLogMaxBytes)
	}
	if c.DecisionLogMaxFiles < 1 {
		bad("--decision-log-max-files %d: want at least 1", c.DecisionLogMaxFiles)
	}
	return errors.Join(errs...)
}
