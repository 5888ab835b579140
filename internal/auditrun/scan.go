package auditrun

import (
	"context"
	"fmt"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	invaws "github.com/quartermaster-io/quartermaster/internal/inventory/aws"
	invazure "github.com/quartermaster-io/quartermaster/internal/inventory/azure"
	invgcp "github.com/quartermaster-io/quartermaster/internal/inventory/gcp"
	"github.com/quartermaster-io/quartermaster/internal/inventory/kube"
	"github.com/quartermaster-io/quartermaster/internal/inventory/prometheus"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// discoverer lists accounts from a cloud (AWS Organizations, Azure
// subscriptions, GCP projects).
type discoverer interface {
	Discover(ctx context.Context) ([]inventory.Account, error)
}

// prepareScan reads the accounts file, builds a scanner for each cloud it
// names (only those: a run over AWS accounts needs no Azure credentials),
// adds the discovered accounts to the listed ones, and returns the runner.
func prepareScan(ctx context.Context, cfg Config, deps Deps) ([]inventory.Account, *inventory.Runner, error) {
	file, err := inventory.ReadAccountsFile(cfg.Accounts)
	if err != nil {
		return nil, nil, fmt.Errorf("--accounts: %w", err)
	}
	log, _ := deps.defaults()
	accounts := slices.Clone(file.Accounts)
	scanners := deps.Scanners
	if scanners == nil {
		scanners = map[inventory.Cloud]inventory.Scanner{}
		clouds := map[inventory.Cloud]bool{}
		for _, a := range accounts {
			clouds[a.Cloud] = true
		}
		d := file.Discover
		clouds[inventory.CloudAWS] = clouds[inventory.CloudAWS] || d.AWSOrganization != nil
		clouds[inventory.CloudAzure] = clouds[inventory.CloudAzure] || d.AzureSubscriptions
		clouds[inventory.CloudGCP] = clouds[inventory.CloudGCP] || d.GCPProjects
		var found []inventory.Account
		if clouds[inventory.CloudAWS] {
			awsCfg, err := invaws.LoadDefault(ctx, cfg.AWSProfile, cfg.AWSRegion)
			if err != nil {
				return nil, nil, err
			}
			s, err := invaws.New(invaws.Config{AWS: awsCfg, PerAccount: file.Limits.PerAccount, Log: log})
			if err != nil {
				return nil, nil, fmt.Errorf("aws: %w", err)
			}
			scanners[inventory.CloudAWS] = s
			if o := d.AWSOrganization; o != nil {
				more, err := s.Accounts(ctx, *o)
				if err != nil {
					return nil, nil, fmt.Errorf("listing the AWS organization's accounts: %w", err)
				}
				found = append(found, more...)
			}
		}
		if clouds[inventory.CloudAzure] {
			cred, err := azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, nil, fmt.Errorf("azure credentials: %w", err)
			}
			s, err := invazure.New(invazure.Config{Credential: cred, PerAccount: file.Limits.PerAccount})
			if err != nil {
				return nil, nil, fmt.Errorf("azure: %w", err)
			}
			scanners[inventory.CloudAzure] = s
			if d.AzureSubscriptions {
				if found, err = discover(ctx, s, found, "Azure subscriptions"); err != nil {
					return nil, nil, err
				}
			}
		}
		if clouds[inventory.CloudGCP] {
			s, err := invgcp.New(ctx, invgcp.Config{})
			if err != nil {
				return nil, nil, fmt.Errorf("gcp: %w", err)
			}
			scanners[inventory.CloudGCP] = s
			if d.GCPProjects {
				if found, err = discover(ctx, s, found, "GCP projects"); err != nil {
					return nil, nil, err
				}
			}
		}
		if clouds[inventory.CloudKube] {
			labels, err := cfg.Engine.Nodes.Labels()
			if err != nil {
				return nil, nil, err
			}
			// The workload kinds admission places (--workload-rules besides
			// the built-in ones) are the kinds the scan reads as workloads.
			extra, err := workload.ReadRulesFile(cfg.Engine.Sources.WorkloadRules)
			if err != nil {
				return nil, nil, fmt.Errorf("--workload-rules: %w", err)
			}
			k, err := kube.NewScanner(kube.Config{Log: log, LabelKeys: labelKeysOrNil(cfg, labels), Rules: workload.WithDefaultRules(extra)})
			if err != nil {
				return nil, nil, fmt.Errorf("kubernetes: %w", err)
			}
			// A cluster's objects, then its GPU metrics, as one account.
			scanners[inventory.CloudKube] = inventory.Chain{k, prometheus.Scanner{Config: prometheus.Config{Window: cfg.GPUWindow}}}
		}
		accounts = mergeAccounts(accounts, found)
	}
	return accounts, &inventory.Runner{Scanners: scanners, Limits: file.Limits, Checkpoint: cfg.Checkpoint, Log: log, Now: deps.Now}, nil
}

func discover(ctx context.Context, d discoverer, found []inventory.Account, what string) ([]inventory.Account, error) {
	more, err := d.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	return append(found, more...), nil
}

// mergeAccounts adds the discovered accounts the file does not list: a
// listed entry wins, since it may carry a role or regions of its own.
func mergeAccounts(listed, found []inventory.Account) []inventory.Account {
	seen := map[string]bool{}
	for _, a := range listed {
		seen[a.Key()] = true
	}
	for _, a := range found {
		if !seen[a.Key()] {
			seen[a.Key()] = true
			listed = append(listed, a)
		}
	}
	return listed
}

// labelKeysOrNil gives the kube source the label convention the flags name,
// or nil to read each node's own (--label-profile left at its default).
func labelKeysOrNil(cfg Config, keys workload.LabelKeys) *workload.LabelKeys {
	if cfg.Engine.Nodes.LabelProfile == workload.ProfileQuartermaster && len(cfg.Engine.Nodes.LabelKeys) == 0 {
		return nil
	}
	return &keys
}
