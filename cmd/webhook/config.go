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
	"github.com/quartermaster-io/quartermaster/internal/engine"
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

	// Engine chooses the decision's inputs: catalog, quotas, label
	// profile, provisionable filter, cluster-state and inventory files,
	// policies and their reload intervals (flags shared with qm).
	Engine engine.Config

	// Kubeconfig and Standalone choose where the cluster state comes
	// from: the API server (informers) or, standalone, the --cluster-state
	// and --usage files.
	Kubeconfig string
	Standalone bool

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
	eng := engine.NewConfig()
	// The webhook serves for weeks: it watches its inputs where qm loads
	// them once.
	eng.Reload = engine.ReloadConfig{Catalog: 10 * time.Second, Policies: 10 * time.Second}
	return &Config{
		Engine:                 eng,
		CertReloadInterval:     10 * time.Second,
		Port:                   9443,
		MetricsBindAddress:     ":8080",
		HealthProbeBindAddress: ":8081",
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
	c.Engine.AddFlags(fs)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "kubeconfig file (default: in-cluster config, then $KUBECONFIG)")
	fs.BoolVar(&c.Standalone, "standalone", c.Standalone, "run without an API server, from --cluster-state and --inventory")
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

// Validate reports every problem at once, in flag order, so that the same
// mistakes always read the same (a map once made the order vary).
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
	for _, a := range []struct{ flag, addr string }{
		{"--metrics-bind-address", c.MetricsBindAddress},
		{"--health-probe-bind-address", c.HealthProbeBindAddress},
	} {
		if a.addr == "0" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.addr); err != nil {
			bad("%s %q: want host:port or 0", a.flag, a.addr)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			bad("%s %q: bad port", a.flag, a.addr)
		}
	}
	if c.Standalone {
		if c.Kubeconfig != "" {
			bad("--standalone and --kubeconfig exclude each other")
		}
	} else if c.Engine.Facts.ClusterState != "" || c.Engine.Sources.Usage != "" {
		bad("--cluster-state and --usage need --standalone (with an API server, informers provide them)")
	}
	// The engine's zero interval means "load once"; the webhook always
	// watches its inputs.
	if c.Engine.Reload.Policies == 0 {
		bad("--policy-reload-interval 0s: want at least 100ms")
	}
	if c.Engine.Reload.Catalog == 0 {
		bad("--catalog-reload-interval 0s: want at least 100ms")
	}
	if err := c.Engine.Validate(); err != nil {
		errs = append(errs, err)
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
