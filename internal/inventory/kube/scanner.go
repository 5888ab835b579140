package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// InCluster is the account ID that means the pod's own cluster, through its
// service account.
const InCluster = "in-cluster"

// DefaultPageSize is the items per list call: large enough that a 100,000
// pod cluster is read in 200 calls, small enough that one response stays a
// few megabytes (Gatekeeper's audit settled on the same 500, gatekeeper#1085).
const DefaultPageSize = 500

// Client QPS and burst when the kubeconfig sets none: list calls are few
// and large, so client-go's default of 5/10 is not what limits a scan,
// while a loaded API server still sees a bounded rate.
const (
	defaultQPS   = 20
	defaultBurst = 40
)

// Config configures a Scanner. The zero value is usable.
type Config struct {
	// PageSize is the items per list call; 0 means DefaultPageSize.
	PageSize int64
	// LabelKeys is the node label convention the cluster uses (the
	// webhook's label profile); nil reads each node's capacity type from
	// the first well-known convention whose label it carries.
	LabelKeys *workload.LabelKeys
	// Rules are the workload kinds emitted as Workload records (besides
	// Pods, which are Pod records, and ReplicaSets, which their
	// Deployments stand for); nil means workload.DefaultRules(). A kind
	// whose CRD the cluster lacks is skipped.
	Rules []workload.Rule
	// NewClient returns the client of one account; nil means ClientFor.
	// Tests wrap the real client here to count its calls.
	NewClient func(ctx context.Context, a inventory.Account) (client.Client, error)
	Log       *slog.Logger
	// Now is the clock that stamps Observed; nil means time.Now.
	Now func() time.Time
}

// Scanner reads the inventory of Kubernetes clusters: one account is one
// kubeconfig context (or InCluster), read through a controller-runtime
// client of its own.
type Scanner struct {
	cfg Config
}

var _ inventory.Scanner = (*Scanner)(nil)

// NewScanner checks and defaults cfg.
func NewScanner(cfg Config) (*Scanner, error) {
	switch {
	case cfg.PageSize < 0:
		return nil, fmt.Errorf("kube: page size %d: want at least 1 (0 means %d)", cfg.PageSize, DefaultPageSize)
	case cfg.PageSize == 0:
		cfg.PageSize = DefaultPageSize
	}
	if cfg.LabelKeys != nil {
		if err := cfg.LabelKeys.Validate(); err != nil {
			return nil, fmt.Errorf("kube: %w", err)
		}
	}
	if cfg.Rules == nil {
		cfg.Rules = workload.DefaultRules()
	}
	if cfg.NewClient == nil {
		cfg.NewClient = func(_ context.Context, a inventory.Account) (client.Client, error) { return ClientFor(a) }
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scanner{cfg: cfg}, nil
}

// RESTConfig is the connection to an account's cluster: the in-cluster
// config for InCluster, else the context named by the account ID in
// a.Kubeconfig (or the default loading rules: KUBECONFIG, ~/.kube/config).
func RESTConfig(a inventory.Account) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if a.ID == InCluster && a.Kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if a.Kubeconfig != "" {
			rules.ExplicitPath = a.Kubeconfig
		}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: a.ID}).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the client config of %s: %w", a.ID, err)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = defaultQPS, defaultBurst
	}
	cfg.UserAgent = "quartermaster-auditor"
	return cfg, nil
}

// scheme holds the built-in kinds the scan reads typed; CRD kinds are read
// as unstructured objects.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// ClientFor is the controller-runtime client of one account: uncached
// (every read is a paginated list), with a lazily discovering REST mapper
// so that a CRD installed in the cluster is found and one missing is a
// "no match", not an error.
func ClientFor(a inventory.Account) (client.Client, error) {
	cfg, err := RESTConfig(a)
	if err != nil {
		return nil, err
	}
	return NewClient(cfg)
}

// NewClient is a controller-runtime client for cfg with the scan's scheme
// and a dynamic REST mapper.
func NewClient(cfg *rest.Config) (client.Client, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the HTTP client: %w", err)
	}
	return newClient(cfg, hc)
}

func newClient(cfg *rest.Config, hc *http.Client) (client.Client, error) {
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("building the REST mapper: %w", err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: hc, Scheme: scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("building the client: %w", err)
	}
	return c, nil
}

// Scan implements inventory.Scanner. Records come in this order: the
// Namespaces, the Nodes, the Pods, the VolumeClaims, the Workloads, the
// VolumeSnapshots (doc.go says why). An error names what was being listed;
// a cancelled ctx or a failing emit stops the scan at once.
func (s *Scanner) Scan(ctx context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	if a.ID == "" {
		return errors.New("kube: account without an id (a kubeconfig context, or in-cluster)")
	}
	c, err := s.cfg.NewClient(ctx, a)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", a.ID, err)
	}
	sc := &scan{cfg: &s.cfg, c: c, account: a.ID, emit: emit, observed: s.cfg.Now().UTC()}
	start := time.Now()
	if err := sc.run(ctx); err != nil {
		return fmt.Errorf("cluster %s: %w", a.ID, err)
	}
	s.cfg.Log.Info("cluster scanned", "account", a.ID, "cloud", sc.cloud, "records", sc.emitted, "listCalls", sc.calls,
		"duration", time.Since(start), "wentOnPastExpiredContinue", sc.inconsistent)
	return nil
}
