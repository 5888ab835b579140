package aws

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Config is what cmd/auditor builds from its flags and the accounts file.
type Config struct {
	// AWS is the caller's own configuration: the credentials that list the
	// organisation and assume the scan role in each account, and the HTTP
	// client. cmd builds it with LoadDefault (or config.LoadDefaultConfig
	// with its own options); its retry settings are replaced by Retry.
	AWS awssdk.Config
	// Region is where account-wide calls go (STS, Organizations,
	// DescribeRegions, ListBuckets); empty means AWS.Region, else
	// us-east-1.
	Region string
	// PerAccount is how many regions (and buckets) of one account are
	// scanned at once: inventory.Limits.PerAccount of the accounts file;
	// inventory.DefaultPerAccount when 0.
	PerAccount int
	// Retry is the retry policy of every client; DefaultRetry when zero.
	Retry Retry
	// Endpoints override the services' endpoints (VPC endpoints, FIPS,
	// tests); empty ones use AWS's.
	Endpoints Endpoints
	// SessionName is the AssumeRole session name, which CloudTrail shows
	// in each account; DefaultSessionName when empty.
	SessionName string
	// Catalog maps instance types to GPU models and counts;
	// costing.DefaultCatalog() when nil.
	Catalog *costing.Catalog
	// Now stamps Observed; nil means time.Now.
	Now func() time.Time
	// Log receives a debug line per account (its regions and buckets);
	// failures are the runner's to log. nil discards.
	Log *slog.Logger
}

// Endpoints are base URLs of the services, one per service because a
// private endpoint exists per service.
type Endpoints struct {
	STS, Organizations, EC2, KMS, S3 string
	// S3PathStyle addresses buckets as a path (endpoint/bucket) rather
	// than a host name, as S3-compatible servers and tests need.
	S3PathStyle bool
}

// Defaults of Config.
const (
	DefaultSessionName = "quartermaster-auditor"
	DefaultRegion      = "us-east-1"
	// DefaultRequestTimeout bounds one HTTP attempt of the shared client
	// built when the caller gives none: a connection that hangs would
	// otherwise hold an account slot for ever.
	DefaultRequestTimeout = time.Minute
	// roleDuration is the assumed role's session length: the IAM default
	// maximum, so that most accounts need one AssumeRole (the cache
	// renews it before it expires when a scan takes longer).
	roleDuration = time.Hour
)

// Scanner scans AWS accounts. It is safe for concurrent use by the runner;
// it keeps nothing of an account once the account's Scan returns.
type Scanner struct {
	base    awssdk.Config
	region  string
	per     int
	ep      Endpoints
	session string
	gpus    map[string]gpuShape
	now     func() time.Time
	log     *slog.Logger
	sts     *sts.Client

	configs, providers, clients atomic.Int64
}

type gpuShape struct {
	model string
	count int
}

// New checks cfg and builds the scanner. It makes no API call.
func New(cfg Config) (*Scanner, error) {
	if cfg.Retry == (Retry{}) {
		cfg.Retry = DefaultRetry
	}
	if err := cfg.Retry.check(); err != nil {
		return nil, err
	}
	if cfg.PerAccount < 0 {
		return nil, fmt.Errorf("per-account limit %d: want at least 1 (0 means %d)", cfg.PerAccount, inventory.DefaultPerAccount)
	}
	if cfg.PerAccount == 0 {
		cfg.PerAccount = inventory.DefaultPerAccount
	}
	if cfg.Region == "" {
		cfg.Region = cmp.Or(cfg.AWS.Region, DefaultRegion)
	}
	if cfg.AWS.Credentials == nil {
		return nil, fmt.Errorf("aws: no credentials in the AWS config (build it with LoadDefault)")
	}
	if cfg.Catalog == nil {
		c, err := costing.DefaultCatalog()
		if err != nil {
			return nil, err
		}
		cfg.Catalog = c
	}
	s := &Scanner{
		region: cfg.Region, per: cfg.PerAccount, ep: cfg.Endpoints,
		session: cmp.Or(cfg.SessionName, DefaultSessionName),
		gpus:    map[string]gpuShape{}, now: cfg.Now, log: cfg.Log,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, o := range cfg.Catalog.Offers() {
		if o.Cloud == costing.AWS && o.GPUModel != "" {
			s.gpus[o.InstanceType] = gpuShape{o.GPUModel, o.GPUCount}
		}
	}
	s.base = cfg.AWS.Copy()
	s.base.Region = s.region
	// One HTTP client, so one connection pool, for every client of every
	// account: left nil, each SDK client would build its own transport.
	if s.base.HTTPClient == nil {
		s.base.HTTPClient = awshttp.NewBuildableClient().WithTimeout(DefaultRequestTimeout)
	}
	// Our policy replaces whatever the environment set (AWS_MAX_ATTEMPTS,
	// AWS_RETRY_MODE): it is the documented one.
	s.base.Retryer = cfg.Retry.retryer
	s.base.RetryMaxAttempts = 0
	s.base.RetryMode = ""
	s.sts = sts.NewFromConfig(s.base, func(o *sts.Options) { setEndpoint(&o.BaseEndpoint, s.ep.STS) })
	return s, nil
}

// LoadDefault loads the caller's configuration the SDK's usual way
// (environment, shared config and credentials files, SSO, web identity,
// IMDS), with profile and region when given. It is the one place the
// package lets the environment in, and only when cmd calls it.
func LoadDefault(ctx context.Context, profile, region string) (awssdk.Config, error) {
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awssdk.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

// Stats counts what the scanner built, for the run log and for the tests
// that hold it to one configuration per account.
type Stats struct {
	// Configs is the aws.Config built, one per account scanned.
	Configs int64
	// CredentialProviders is the AssumeRole providers built, one per
	// account that has a role.
	CredentialProviders int64
	// Clients is the service clients derived from those configs (per
	// region and service; they hold no credentials or connections of
	// their own).
	Clients int64
}

// Stats returns the counts so far.
func (s *Scanner) Stats() Stats {
	return Stats{Configs: s.configs.Load(), CredentialProviders: s.providers.Load(), Clients: s.clients.Load()}
}

// account is one account's scan: its one config and what is shared between
// its regions.
type account struct {
	*Scanner
	id       string
	cfg      awssdk.Config
	observed time.Time
	keys     keyCache

	emitMu sync.Mutex
	emit   func(*inventory.Resource) error
}

// Scan implements inventory.Scanner: it enters the account (assuming its
// role), lists its regions and buckets, and scans regions and buckets
// concurrently, at most PerAccount at once. The first call that fails for
// good stops the others and fails the account with an APIError.
func (s *Scanner) Scan(ctx context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	if a.Cloud != inventory.CloudAWS {
		return fmt.Errorf("account %s: not an aws account", a.Key())
	}
	acc := &account{Scanner: s, id: a.ID, cfg: s.base.Copy(), observed: s.now().UTC(), emit: emit}
	s.configs.Add(1)
	if a.RoleARN != "" {
		p := stscreds.NewAssumeRoleProvider(s.sts, a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = s.session
			o.Duration = roleDuration
			if a.ExternalID != "" {
				o.ExternalID = awssdk.String(a.ExternalID)
			}
		})
		s.providers.Add(1)
		// The cache is the config's: every client derived from it reuses
		// the one session, and renews it once for all when it expires.
		acc.cfg.Credentials = awssdk.NewCredentialsCache(p)
		// Assume the role now, so that a role that cannot be assumed is
		// reported as such rather than as the first API call failing.
		if _, err := acc.cfg.Credentials.Retrieve(ctx); err != nil {
			return &APIError{Account: a.ID, Region: s.region, API: "sts:AssumeRole", Resource: a.RoleARN, Err: err}
		}
	}
	regions := a.Regions
	if len(regions) == 0 {
		var err error
		if regions, err = acc.enabledRegions(ctx); err != nil {
			return err
		}
	}
	buckets, err := acc.listBuckets(ctx)
	if err != nil {
		return err
	}
	s.log.Debug("scanning aws account", "account", a.ID, "regions", regions, "buckets", len(buckets), "perAccount", s.per)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.per)
	for _, r := range regions {
		g.Go(func() error { return acc.scanRegion(ctx, r) })
	}
	s3s := &s3Clients{acc: acc, byRegion: map[string]*s3.Client{}}
	for _, b := range buckets {
		g.Go(func() error {
			region, err := acc.bucketRegion(ctx, s3s.get(s.region), b)
			if err == nil {
				// Account.Regions limits the scan to those regions:
				// a bucket elsewhere is out of it like an instance
				// would be.
				if len(a.Regions) > 0 && !slices.Contains(a.Regions, region) {
					return nil
				}
				err = acc.scanBucket(ctx, s3s.get(region), b, region)
			}
			if isGone(err) {
				// Deleted since ListBuckets: a bucket that no longer
				// exists is not in the inventory, as if it had gone a
				// moment before the list. Failing the account for it
				// would drop every other resource of the night.
				s.log.Debug("bucket deleted during the scan", "account", a.ID, "bucket", awssdk.ToString(b.Name))
				return nil
			}
			return err
		})
	}
	return g.Wait()
}

// send hands one resource to the runner's emit, which is not safe for
// concurrent use, from any region's goroutine.
func (a *account) send(r *inventory.Resource) error {
	r.Account, r.Cloud, r.Observed = a.id, inventory.CloudAWS, a.observed
	a.emitMu.Lock()
	defer a.emitMu.Unlock()
	return a.emit(r)
}

// apiErr wraps a failed call of the account.
func (a *account) apiErr(region, api, resource string, err error) error {
	return &APIError{Account: a.id, Region: region, API: api, Resource: resource, Err: err}
}

// scanRegion emits a region's keys first, so that the volumes and snapshots
// after them find their keys' managers in the cache rather than asking KMS
// again.
func (a *account) scanRegion(ctx context.Context, region string) error {
	k := kms.NewFromConfig(a.cfg, func(o *kms.Options) {
		o.Region = region
		setEndpoint(&o.BaseEndpoint, a.ep.KMS)
	})
	e := ec2.NewFromConfig(a.cfg, func(o *ec2.Options) {
		o.Region = region
		setEndpoint(&o.BaseEndpoint, a.ep.EC2)
	})
	a.clients.Add(2)
	if err := a.scanKeys(ctx, k, region); err != nil {
		return err
	}
	if err := a.scanInstances(ctx, e, region); err != nil {
		return err
	}
	if err := a.scanVolumes(ctx, e, k, region); err != nil {
		return err
	}
	return a.scanSnapshots(ctx, e, k, region)
}

// enabledRegions lists the regions enabled for the account: opt-in regions
// the account has not enabled cannot be called and hold nothing.
func (a *account) enabledRegions(ctx context.Context) ([]string, error) {
	e := ec2.NewFromConfig(a.cfg, func(o *ec2.Options) { setEndpoint(&o.BaseEndpoint, a.ep.EC2) })
	a.clients.Add(1)
	out, err := e.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, a.apiErr(a.region, "ec2:DescribeRegions", "", err)
	}
	regions := make([]string, 0, len(out.Regions))
	for _, r := range out.Regions {
		regions = append(regions, awssdk.ToString(r.RegionName))
	}
	slices.Sort(regions)
	return regions, nil
}

func setEndpoint(dst **string, url string) {
	if url != "" {
		*dst = awssdk.String(url)
	}
}
