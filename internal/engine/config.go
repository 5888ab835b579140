package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/clusterstate"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Config chooses every input of a decision. Each section binds its own
// flags, because the binaries need different subsets: qm catalog list reads
// only Sources, qm optimize has no node-label flags, and only the webhook
// reloads. The flag names, defaults and help texts are a contract (docs,
// the Helm chart and tests use them), so they are written here once.
type Config struct {
	Sources  SourceConfig
	Nodes    NodeConfig
	Facts    FactConfig
	Policies PolicyConfig
	Reload   ReloadConfig
}

// SourceConfig names the catalog, quota, usage and workload-rules files.
type SourceConfig struct {
	// Catalog is the offer catalog file; empty is the embedded catalog.
	Catalog       string
	CatalogFormat string
	// CatalogCloud names the cloud of a SkyPilot file, which does not say.
	CatalogCloud string
	// Quota and Usage are GPU counts in the quota file's shape; empty
	// means no limits and nothing in use.
	Quota string
	Usage string
	// WorkloadRules describes more kinds (CRDs) besides the built-in ones.
	WorkloadRules string
}

// NodeConfig says how the cluster labels its nodes (what placement pins)
// and whether offers the cluster cannot provide are skipped.
type NodeConfig struct {
	// LabelProfile is the cluster's node label convention (quartermaster,
	// karpenter, eks, gke, aks); LabelKeys override its fields, NAME=VALUE.
	LabelProfile string
	LabelKeys    []string
	// ProvisionableFilter is auto, on or off: whether offers the cluster
	// has no Ready node or Karpenter NodePool for are skipped. auto means
	// on with an API server, and from files only when --cluster-state holds
	// Nodes or NodePools (a file of StorageClasses alone says nothing about
	// capacity, and filtering on it would refuse every workload).
	ProvisionableFilter string
}

// FactConfig names the files that stand in for what a cluster would tell:
// its objects (ClusterState) and the dataset inventory.
type FactConfig struct {
	ClusterState string
	Inventory    string
}

// PolicyConfig chooses the policy bundle.
type PolicyConfig struct {
	// Dir is a Rego bundle directory; empty is the embedded library.
	Dir string
	// None evaluates no policy (qm --no-policies): placement only.
	None bool
}

// ReloadConfig sets how often the files in service are checked for a
// change; zero loads them once, as the offline tools do.
type ReloadConfig struct {
	// Catalog covers the --catalog and --quota files: one interval for
	// both, since the chart mounts them from one ConfigMap and a price and
	// a quota change are often one edit.
	Catalog time.Duration
	// Policies covers the --policies directory.
	Policies time.Duration
}

// minReload keeps a reload loop from spinning on the files.
const minReload = 100 * time.Millisecond

// NewConfig returns the defaults: the embedded catalog and policy library,
// the quartermaster label profile, the provisionable filter on auto, and
// nothing reloaded.
func NewConfig() Config {
	return Config{
		Sources: SourceConfig{CatalogFormat: "csv"},
		Nodes:   NodeConfig{LabelProfile: workload.ProfileQuartermaster, ProvisionableFilter: string(clusterstate.ProvisionableAuto)},
	}
}

// AddFlags binds every section, as the webhook does.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	c.Sources.AddFlags(fs)
	c.Nodes.AddFlags(fs)
	c.Facts.AddFlags(fs)
	c.Policies.AddFlags(fs)
	c.Reload.AddFlags(fs)
}

// AddFlags binds --catalog, --catalog-format, --catalog-cloud, --quota,
// --usage and --workload-rules, with the current values as defaults.
func (c *SourceConfig) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Catalog, "catalog", c.Catalog, "offer catalog file (default: the embedded catalog)")
	fs.StringVar(&c.CatalogFormat, "catalog-format", c.CatalogFormat, "catalog file format: csv (contract 4.4) or skypilot (vms.csv)")
	fs.StringVar(&c.CatalogCloud, "catalog-cloud", c.CatalogCloud, "the cloud of a skypilot catalog: aws, azure or gcp")
	fs.StringVar(&c.Quota, "quota", c.Quota, "GPU quota file: quotas: [{cloud, region, gpuModel, gpus}]")
	fs.StringVar(&c.Usage, "usage", c.Usage, "GPUs already in use, in the quota file's shape (without an API server; with one, its pods are counted)")
	fs.StringVar(&c.WorkloadRules, "workload-rules", c.WorkloadRules, "workload rules file describing more kinds (CRDs) to place and judge: rules: [{group, kind, class, podSets}]")
}

// AddFlags binds --label-profile, --label-key and --provisionable-filter.
func (c *NodeConfig) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.LabelProfile, "label-profile", c.LabelProfile, "node label convention placement pins on: "+strings.Join(workload.ProfileNames(), ", "))
	fs.StringArrayVar(&c.LabelKeys, "label-key", c.LabelKeys, "override one field of the label profile, NAME=VALUE (cloud, region, instanceType, capacityType, spotTaint, spotTaintValue, spotValue, onDemandValue, clusterCloud; repeatable)")
	fs.StringVar(&c.ProvisionableFilter, "provisionable-filter", c.ProvisionableFilter, "skip offers no Ready node or Karpenter NodePool can provide: auto (on with an API server; without one: when --cluster-state holds Nodes or NodePools), on or off")
}

// AddFlags binds --cluster-state and --inventory.
func (c *FactConfig) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ClusterState, "cluster-state", c.ClusterState, "the cluster as Kubernetes YAML, instead of an API server: StorageClasses and PVCs (encryption evidence), Namespaces (labels), Nodes and NodePools (provisionable filter)")
	fs.StringVar(&c.Inventory, "inventory", c.Inventory, "dataset facts (YAML): datasets: [{location, cloud, region, encrypted, keyKind, sizeBytes}]")
}

// AddFlags binds --policies. --no-policies is qm's alone (a webhook
// without policies is not a configuration to offer), so qm binds None.
func (c *PolicyConfig) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Dir, "policies", c.Dir, "Rego policy bundle directory (default: the embedded library)")
}

// AddFlags binds --catalog-reload-interval and --policy-reload-interval.
func (c *ReloadConfig) AddFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.Catalog, "catalog-reload-interval", c.Catalog, "how often to look for a changed --catalog or --quota file")
	fs.DurationVar(&c.Policies, "policy-reload-interval", c.Policies, "how often to look for a changed --policies directory (hot reload)")
}

// Labels resolves --label-profile and --label-key.
func (c *NodeConfig) Labels() (workload.LabelKeys, error) {
	keys, err := workload.ResolveLabelKeys(c.LabelProfile, c.LabelKeys)
	if err != nil {
		return workload.LabelKeys{}, fmt.Errorf("--label-profile/--label-key: %w", err)
	}
	return keys, nil
}

// Validate reports every problem at once, in flag order, each naming its
// flag. It reads no file: files are read, and their errors reported, by New.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Sources.CatalogFormat {
	case "csv", "skypilot":
	default:
		bad("--catalog-format %q: want csv or skypilot", c.Sources.CatalogFormat)
	}
	if _, err := c.Nodes.Labels(); err != nil {
		errs = append(errs, err)
	}
	if _, err := clusterstate.ParseProvisionableMode(c.Nodes.ProvisionableFilter); err != nil {
		bad("--provisionable-filter: %v", err)
	}
	if c.Policies.None && c.Policies.Dir != "" {
		errs = append(errs, errors.New("--policies and --no-policies exclude each other"))
	}
	// Zero means "load once"; a negative or tiny interval is a typo.
	if c.Reload.Policies != 0 && c.Reload.Policies < minReload {
		bad("--policy-reload-interval %s: want at least 100ms", c.Reload.Policies)
	}
	if c.Reload.Catalog != 0 && c.Reload.Catalog < minReload {
		bad("--catalog-reload-interval %s: want at least 100ms", c.Reload.Catalog)
	}
	return errors.Join(errs...)
}
