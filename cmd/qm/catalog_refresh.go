package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/spf13/cobra"
	"google.golang.org/api/option"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/engine"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
	"github.com/quartermaster-io/quartermaster/internal/pricing/awsprice"
	"github.com/quartermaster-io/quartermaster/internal/pricing/azureprice"
	"github.com/quartermaster-io/quartermaster/internal/pricing/gcpprice"
)

// gcpAPIKeyEnv is the environment fallback of --gcp-api-key, so that a key
// need not appear in a process list or a CronJob's arguments.
const gcpAPIKeyEnv = "QM_GCP_API_KEY"

// refreshConfig is qm catalog refresh's configuration, from its flags.
type refreshConfig struct {
	clouds      []string
	regions     []string
	out         string
	state       string
	asOf        string
	awsSpot     bool
	spotWindow  time.Duration
	zones       bool
	concurrency int
	timeout     time.Duration
	gcpAPIKey   string
	// configMap is NAMESPACE/NAME of a ConfigMap to write the catalog
	// into; kubeconfig finds its API server (empty: in-cluster, else
	// kubectl's defaults).
	configMap  string
	kubeconfig string
	// Endpoints, hidden: for tests and mirrors.
	awsURL, ec2Endpoint, azureURL, gcpEndpoint string
}

// addFlags binds the refresh flags; credentials are not flags but the
// clouds' own default chains (and QM_GCP_API_KEY), so that they never end up
// in a shell history or a process list.
func (c *refreshConfig) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&c.clouds, "clouds", costing.Clouds, "clouds to price: aws, azure, gcp")
	f.StringSliceVar(&c.regions, "regions", nil, "regions to price (default: every region of the region table, per cloud)")
	f.StringVar(&c.out, "out", "", "catalog file to write (- for standard output)")
	f.StringVar(&c.configMap, "configmap", "", "NAMESPACE/NAME of a ConfigMap to write the catalog into, under catalog.csv (created when missing; only that key is replaced), for the webhook's hot reload; not written when a cloud fails")
	f.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of --configmap's cluster (default: the in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&c.state, "state", "", "AWS state file: offer file versions and rows of the last refresh (default: the user cache dir, quartermaster/aws-price-state.json)")
	f.StringVar(&c.asOf, "as-of", "", "date written into the catalog, YYYY-MM-DD (default: today, UTC)")
	f.BoolVar(&c.awsSpot, "aws-spot", true, "read AWS spot prices with EC2 DescribeSpotPriceHistory (needs AWS credentials with ec2:DescribeSpotPriceHistory)")
	f.DurationVar(&c.spotWindow, "spot-window", 7*24*time.Hour, "the AWS spot price history the median is taken over")
	f.BoolVar(&c.zones, "zones", false, "one AWS offer per availability zone with that zone's spot median, instead of one per region")
	f.IntVar(&c.concurrency, "concurrency", 2, "regions priced at once per cloud")
	f.DurationVar(&c.timeout, "timeout", 30*time.Minute, "give up after this long")
	f.StringVar(&c.gcpAPIKey, "gcp-api-key", "", "API key for the Cloud Billing Catalog API (default: $"+gcpAPIKeyEnv+", else Application Default Credentials)")
	f.StringVar(&c.awsURL, "aws-pricing-url", awsprice.DefaultBaseURL, "AWS Price List bulk API root")
	f.StringVar(&c.ec2Endpoint, "aws-ec2-endpoint", "", "EC2 endpoint for spot prices (default: the region's)")
	f.StringVar(&c.azureURL, "azure-prices-url", azureprice.DefaultURL, "Azure Retail Prices API")
	f.StringVar(&c.gcpEndpoint, "gcp-billing-endpoint", "", "Cloud Billing API endpoint (default: Google's)")
	for _, h := range []string{"aws-pricing-url", "aws-ec2-endpoint", "azure-prices-url", "gcp-billing-endpoint"} {
		_ = f.MarkHidden(h)
	}
}

// validate checks the flags and fills the defaults that depend on the
// environment: the only place refresh reads it.
func (c *refreshConfig) validate(now time.Time) error {
	if c.out == "" && c.configMap == "" {
		return errors.New("--out or --configmap is required (--out - for standard output)")
	}
	if c.configMap != "" {
		ns, name, ok := strings.Cut(c.configMap, "/")
		if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
			return fmt.Errorf("--configmap %q: want NAMESPACE/NAME, e.g. quartermaster/quartermaster-catalog", c.configMap)
		}
	}
	if c.kubeconfig != "" && c.configMap == "" {
		return errors.New("--kubeconfig is for --configmap's cluster: give --configmap too")
	}
	for _, cl := range c.clouds {
		if !slices.Contains(costing.Clouds, cl) {
			return fmt.Errorf("--clouds: cloud %q: want one of %s", cl, strings.Join(costing.Clouds, ", "))
		}
	}
	if c.asOf == "" {
		c.asOf = now.UTC().Format(time.DateOnly)
	}
	if err := costing.ParseAsOf(c.asOf); err != nil {
		return fmt.Errorf("--as-of: %w", err)
	}
	if c.concurrency < 1 || c.concurrency > 16 {
		return fmt.Errorf("--concurrency %d: want 1 to 16", c.concurrency)
	}
	if c.gcpAPIKey == "" {
		c.gcpAPIKey = os.Getenv(gcpAPIKeyEnv)
	}
	if c.state == "" && slices.Contains(c.clouds, costing.AWS) {
		dir, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("--state: no user cache dir (%w); pass a path", err)
		}
		c.state = filepath.Join(dir, "quartermaster", "aws-price-state.json")
	}
	return nil
}

// regionsByCloud sorts --regions out by cloud; a name no cloud of the
// region table has is an error.
func (c *refreshConfig) regionsByCloud() (map[string][]string, error) {
	if len(c.regions) == 0 {
		return nil, nil
	}
	table := costing.DefaultRegions()
	names := costing.NewNames(table, nil)
	out := map[string][]string{}
	for _, cl := range c.clouds {
		out[cl] = []string{}
	}
	for _, r := range c.regions {
		if err := names.AnyRegion(r); err != nil {
			return nil, fmt.Errorf("--regions: %w", err)
		}
		for _, cl := range c.clouds {
			if table.Known(cl, r) {
				out[cl] = append(out[cl], r)
			}
		}
	}
	return out, nil
}

// newCatalogRefreshCommand is qm catalog refresh (contract 4.5): live prices
// from the clouds' price APIs into a catalog CSV. A cloud that fails does
// not lose the others' rows, but the exit code says it failed.
func newCatalogRefreshCommand(s streams) *cobra.Command {
	var cfg refreshConfig
	cmd := &cobra.Command{
		Use:   "refresh --out FILE | --configmap NAMESPACE/NAME",
		Short: "Write a catalog priced from the clouds' public price APIs",
		Long: `refresh prices the GPU instances of AWS (Price List bulk files, EC2 spot history), Azure
(Retail Prices API) and GCP (Cloud Billing Catalog API) and writes a catalog in the project's
CSV format, with a source per row. A summary goes to standard error. A cloud that fails keeps
the others' rows in the file but makes the exit code 1. With --configmap the catalog goes into
a ConfigMap, where the webhook's hot reload picks it up; it is written only when every cloud
succeeded. See docs/pricing.md.`,
		Example: "  qm catalog refresh --clouds aws,azure --regions us-east-1,eastus --out catalog.csv\n" +
			"  qm catalog refresh --configmap quartermaster/quartermaster-catalog",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(time.Now()); err != nil {
				return &exitError{exitInput, err}
			}
			return runRefresh(cmd.Context(), s, cfg)
		},
	}
	cfg.addFlags(cmd)
	return cmd
}

// runRefresh builds the sources from the configuration and runs them.
func runRefresh(ctx context.Context, s streams, cfg refreshConfig) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	regions, err := cfg.regionsByCloud()
	if err != nil {
		return &exitError{exitInput, err}
	}
	var state *awsprice.State
	var sources []pricing.Source
	for _, cl := range cfg.clouds {
		switch cl {
		case costing.AWS:
			if state, err = awsprice.LoadState(cfg.state); err != nil {
				return &exitError{exitInput, err}
			}
			ac := awsprice.Config{BaseURL: cfg.awsURL, State: state, SpotWindow: cfg.spotWindow, Zones: cfg.zones, Concurrency: cfg.concurrency}
			if cfg.awsSpot {
				awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
				if err != nil {
					return &exitError{exitInput, fmt.Errorf("loading AWS configuration for spot prices (or pass --aws-spot=false): %w", err)}
				}
				ac.Spot = func(region string) awsprice.SpotAPI {
					return ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
						o.Region = region
						if cfg.ec2Endpoint != "" {
							o.BaseEndpoint = aws.String(cfg.ec2Endpoint)
						}
					})
				}
			}
			sources = append(sources, awsprice.New(ac))
		case costing.Azure:
			sources = append(sources, azureprice.New(azureprice.Config{URL: cfg.azureURL, Transport: http.DefaultClient, Concurrency: cfg.concurrency}))
		case costing.GCP:
			var opts []option.ClientOption
			if cfg.gcpAPIKey != "" {
				opts = append(opts, option.WithAPIKey(cfg.gcpAPIKey))
			}
			if cfg.gcpEndpoint != "" {
				opts = append(opts, option.WithEndpoint(cfg.gcpEndpoint))
			}
			sources = append(sources, gcpprice.New(gcpprice.Config{Options: opts}))
		}
	}
	cat, rep, refreshErr := pricing.Refresh(ctx, pricing.Config{Sources: sources, Regions: regions, AsOf: cfg.asOf})
	printRefreshSummary(s.err, rep)
	if state != nil {
		if err := state.Save(cfg.state); err != nil {
			refreshErr = errors.Join(refreshErr, err)
		}
	}
	if cat != nil && cfg.out != "" {
		if err := writeCatalogFile(s.out, cfg.out, cat); err != nil {
			return &exitError{exitInput, errors.Join(refreshErr, err)}
		}
	}
	if cfg.configMap != "" {
		// A catalog missing a cloud would take that cloud's offers out
		// of every placement: the webhook keeps serving the last good
		// one instead.
		if refreshErr != nil {
			fmt.Fprintf(s.err, "configmap %s not written: a cloud failed, the catalog in it stays\n", cfg.configMap)
			return &exitError{exitInput, refreshErr}
		}
		if err := writeCatalogConfigMap(ctx, s.err, cfg, cat); err != nil {
			return &exitError{exitInput, err}
		}
	}
	if refreshErr != nil {
		return &exitError{exitInput, refreshErr}
	}
	return nil
}

// writeCatalogConfigMap stores the catalog in --configmap.
func writeCatalogConfigMap(ctx context.Context, w io.Writer, cfg refreshConfig, cat *costing.Catalog) error {
	rc, err := engine.KubeConfig(cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("--configmap: %w", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("--configmap: %w", err)
	}
	ns, name, _ := strings.Cut(cfg.configMap, "/")
	res, err := pricing.WriteConfigMap(ctx, client.CoreV1(), ns, name, cat)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "configmap %s %s: %d offers as of %s\n", cfg.configMap, res, cat.Len(), cat.Meta().AsOf)
	return nil
}

// writeCatalogFile writes through a temporary file and a rename, so that a
// reader (the webhook watching --catalog) never sees half a catalog.
func writeCatalogFile(stdout io.Writer, path string, cat *costing.Catalog) error {
	if path == "-" {
		return costing.WriteCSV(stdout, cat)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".catalog-*.csv")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := costing.WriteCSV(tmp, cat); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// printRefreshSummary writes one block per cloud: rows, regions, skips by
// reason, unknown GPUs, duration and error.
func printRefreshSummary(w io.Writer, rep pricing.Report) {
	for _, c := range rep.Clouds {
		fmt.Fprintf(w, "%s: %d rows from %d regions in %s", c.Cloud, c.Rows, c.Regions, c.Duration.Round(time.Millisecond))
		if len(c.Unchanged) > 0 {
			fmt.Fprintf(w, "; %d unchanged since the last refresh (%s)", len(c.Unchanged), strings.Join(c.Unchanged, ", "))
		}
		fmt.Fprintln(w)
		reasons := map[string][]string{}
		var order []string
		for _, sk := range c.Skipped {
			if _, ok := reasons[sk.Reason]; !ok {
				order = append(order, sk.Reason)
			}
			what := strings.TrimSpace(sk.Region + " " + sk.What)
			reasons[sk.Reason] = append(reasons[sk.Reason], what)
		}
		for _, r := range order {
			list := reasons[r]
			shown := list[:min(len(list), 5)]
			more := ""
			if len(list) > len(shown) {
				more = fmt.Sprintf(" and %d more", len(list)-len(shown))
			}
			fmt.Fprintf(w, "  skipped %d: %s (%s%s)\n", len(list), r, strings.Join(shown, ", "), more)
		}
		if len(c.UnknownGPUs) > 0 {
			fmt.Fprintf(w, "  unknown GPU names (not priced): %s\n", strings.Join(c.UnknownGPUs, ", "))
		}
		if c.Err != "" {
			fmt.Fprintf(w, "  FAILED: %s\n", c.Err)
		}
	}
	fmt.Fprintf(w, "refresh took %s\n", rep.Duration.Round(time.Millisecond))
}
