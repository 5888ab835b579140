package inventory

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"

	"sigs.k8s.io/yaml"
)

// Account is one unit of scanning and of the run summary: an AWS account,
// an Azure subscription, a GCP project or a kubeconfig context. A failed
// account is reported under its ID; a checkpoint records it as done or not.
type Account struct {
	Cloud Cloud  `json:"cloud"`
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	// RoleARN is the AWS role to assume (STS AssumeRole) in the account;
	// empty means the caller's own credentials reach it.
	RoleARN    string `json:"roleArn,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
	// Regions limits the regions scanned; empty means every region the
	// account has enabled.
	Regions []string `json:"regions,omitempty"`
	// Kubeconfig is the file of a kubernetes account's context (ID);
	// empty means the default loading rules (KUBECONFIG, ~/.kube/config),
	// or the in-cluster config when ID is "in-cluster".
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Prometheus is the HTTP API URL of a kubernetes account's Prometheus
	// (or Thanos, Mimir) holding its DCGM exporter metrics; empty means no
	// GPU utilisation is read for it.
	Prometheus string `json:"prometheus,omitempty"`
}

// Key identifies the account across clouds: cloud/id.
func (a Account) Key() string { return string(a.Cloud) + "/" + a.ID }

// Limits bound how much a run does at once. The clouds throttle per account
// and per API, so parallelism across accounts is what scales; within an
// account a few concurrent regions are enough.
type Limits struct {
	// PerCloud is how many accounts of one cloud are scanned at once.
	PerCloud map[Cloud]int `json:"perCloud,omitempty"`
	// PerAccount is how many regions (or API calls) of one account run at
	// once; adapters read it.
	PerAccount int `json:"perAccount,omitempty"`
}

// Default limits: well under the request rates at which the clouds throttle
// a caller (Cloud Custodian was throttled at 200 accounts in parallel,
// cloud-custodian#5767), and enough to keep a pod's network busy.
const (
	DefaultPerCloud   = 8
	DefaultPerAccount = 4
)

// perCloud is the limit for one cloud.
func (l Limits) perCloud(c Cloud) int {
	if n := l.PerCloud[c]; n > 0 {
		return n
	}
	return DefaultPerCloud
}

// AccountsFile is the --accounts file (docs/auditor.md): the accounts to
// scan, listed or discovered, and the run's limits.
type AccountsFile struct {
	Accounts []Account `json:"accounts"`
	Discover Discovery `json:"discover,omitempty"`
	Limits   Limits    `json:"limits,omitempty"`
}

// Discovery lists accounts from the clouds themselves, in addition to the
// listed ones.
type Discovery struct {
	// AWSOrganization lists the active accounts of the caller's AWS
	// Organization and enters each through the named role.
	AWSOrganization *AWSOrganization `json:"awsOrganization,omitempty"`
	// AzureSubscriptions lists every subscription the credentials see.
	AzureSubscriptions bool `json:"azureSubscriptions,omitempty"`
	// GCPProjects lists the active projects the credentials see.
	GCPProjects bool `json:"gcpProjects,omitempty"`
}

// AWSOrganization configures AWS Organizations discovery.
type AWSOrganization struct {
	// RoleName is the role assumed in each member account
	// (arn:aws:iam::<account>:role/<RoleName>).
	RoleName   string   `json:"roleName"`
	ExternalID string   `json:"externalId,omitempty"`
	Regions    []string `json:"regions,omitempty"`
	// Exclude are account IDs not to scan.
	Exclude []string `json:"exclude,omitempty"`
}

// MaxAccountsFileBytes bounds the accounts file: ten thousand listed
// accounts fit in a fifth of it.
const MaxAccountsFileBytes = 8 << 20

var (
	awsAccountID = regexp.MustCompile(`^[0-9]{12}$`)
	azureSubID   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	gcpProjectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	awsRoleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

// ReadAccounts reads an accounts file (YAML or JSON). Unknown fields,
// duplicate keys, malformed IDs and an account listed twice are errors
// naming the entry, since a mistyped account is one never scanned.
func ReadAccounts(r io.Reader) (*AccountsFile, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxAccountsFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading accounts: %w", err)
	}
	if len(raw) > MaxAccountsFileBytes {
		return nil, fmt.Errorf("accounts: larger than %d MiB", MaxAccountsFileBytes>>20)
	}
	var f AccountsFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, fmt.Errorf("accounts: %w (want accounts: [{cloud, id, ...}], discover: {...}, limits: {...})", err)
	}
	seen := map[string]int{}
	for i, a := range f.Accounts {
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("accounts: accounts[%d]: %w", i, err)
		}
		if j, dup := seen[a.Key()]; dup {
			return nil, fmt.Errorf("accounts: accounts[%d] lists %s again (accounts[%d] already does)", i, a.Key(), j)
		}
		seen[a.Key()] = i
	}
	if o := f.Discover.AWSOrganization; o != nil && o.RoleName == "" {
		return nil, fmt.Errorf("accounts: discover.awsOrganization.roleName: want the role to assume in each member account")
	}
	for c, n := range f.Limits.PerCloud {
		if !slices.Contains([]Cloud{CloudAWS, CloudAzure, CloudGCP, CloudKube}, c) || n < 1 {
			return nil, fmt.Errorf("accounts: limits.perCloud.%s: %d: want aws, azure, gcp or kubernetes with a limit of at least 1", c, n)
		}
	}
	if f.Limits.PerAccount < 0 {
		return nil, fmt.Errorf("accounts: limits.perAccount: %d: want at least 1 (0 means the default, %d)", f.Limits.PerAccount, DefaultPerAccount)
	}
	return &f, nil
}

// ReadAccountsFile reads an accounts file by path.
func ReadAccountsFile(path string) (*AccountsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening accounts file: %w", err)
	}
	defer f.Close()
	a, err := ReadAccounts(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func (a Account) check() error {
	switch a.Cloud {
	case CloudAWS:
		if !awsAccountID.MatchString(a.ID) {
			return fmt.Errorf("id %q: want a 12-digit AWS account ID (quote it in YAML)", a.ID)
		}
		if a.RoleARN != "" && !awsRoleARN.MatchString(a.RoleARN) {
			return fmt.Errorf("roleArn %q: want arn:aws:iam::ACCOUNT:role/NAME", a.RoleARN)
		}
	case CloudAzure:
		if !azureSubID.MatchString(a.ID) {
			return fmt.Errorf("id %q: want an Azure subscription ID (a UUID)", a.ID)
		}
	case CloudGCP:
		if !gcpProjectID.MatchString(a.ID) {
			return fmt.Errorf("id %q: want a GCP project ID (6–30 lowercase letters, digits and hyphens)", a.ID)
		}
	case CloudKube:
		if a.ID == "" {
			return fmt.Errorf("id: want the kubeconfig context name, or in-cluster")
		}
	default:
		return fmt.Errorf("cloud %q: want aws, azure, gcp or kubernetes", a.Cloud)
	}
	if a.Cloud != CloudAWS && (a.RoleARN != "" || a.ExternalID != "") {
		return fmt.Errorf("%s account %s: roleArn and externalId are for aws accounts", a.Cloud, a.ID)
	}
	if a.Cloud != CloudKube && (a.Kubeconfig != "" || a.Prometheus != "") {
		return fmt.Errorf("%s account %s: kubeconfig and prometheus are for kubernetes accounts", a.Cloud, a.ID)
	}
	if a.Prometheus != "" {
		if u, err := url.Parse(a.Prometheus); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("prometheus %q: want an http(s) URL such as http://prometheus.monitoring:9090", a.Prometheus)
		}
	}
	return nil
}
