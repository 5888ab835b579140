package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Config is what the source needs from cmd/auditor.
type Config struct {
	// Options are given to every client: credentials (none means
	// Application Default Credentials), quota project, HTTP client.
	Options []option.ClientOption
	// Compute, Storage and Projects are given to one API's clients after
	// Options: an endpoint of its own (Private Service Connect, tests).
	Compute, Storage, Projects []option.ClientOption
	// Retry bounds the retries of throttled and unavailable requests;
	// each zero field takes its value from DefaultRetry.
	Retry Retry
	// Catalog maps machine types to GPUs when an instance lists no
	// accelerators; nil means costing.DefaultCatalog.
	Catalog *costing.Catalog
	// Now stamps Resource.Observed; nil means time.Now.
	Now func() time.Time
}

// Retry is how a request that failed with a retryable status (RetryCodes)
// is tried again: up to MaxAttempts tries, waiting between them a random
// time up to a limit that starts at Initial and doubles up to Max, all
// within Timeout.
type Retry struct {
	MaxAttempts int
	Initial     time.Duration
	Max         time.Duration
	// Timeout bounds one request with its retries (one page of a
	// listing).
	Timeout time.Duration
}

// DefaultRetry: Compute Engine's read quotas are per minute, so the waits
// grow to reach past a minute in total: at most 2+4+8+16+32 = 62 s of
// waiting over 6 tries (about half that on average, with the jitter), and
// 5 min for a page with its retries. A page that still fails fails its
// project; the other projects go on.
var DefaultRetry = Retry{MaxAttempts: 6, Initial: 2 * time.Second, Max: 32 * time.Second, Timeout: 5 * time.Minute}

// RetryCodes are the HTTP statuses retried: throttling, and the
// transient server errors Google's retry guidance lists.
var RetryCodes = []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// Source scans GCP projects. It is safe for concurrent Scans of different
// projects.
type Source struct {
	instances *compute.InstancesClient
	disks     *compute.DisksClient
	snapshots *compute.SnapshotsClient
	storage   *storage.Client
	projects  *resourcemanager.ProjectsClient
	retry     Retry
	gpus      map[string]gpuShape
	now       func() time.Time
}

// gpuShape is what a machine type brings: its GPUs.
type gpuShape struct {
	model string
	count int
}

// New checks cfg and makes the clients; it makes no request.
func New(ctx context.Context, cfg Config) (_ *Source, err error) {
	cat := cfg.Catalog
	if cat == nil {
		if cat, err = costing.DefaultCatalog(); err != nil {
			return nil, fmt.Errorf("gcp: %w", err)
		}
	}
	s := &Source{retry: retryOrDefault(cfg.Retry), gpus: map[string]gpuShape{}, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	for _, o := range cat.Offers() {
		if o.Cloud == costing.GCP && o.GPUCount > 0 {
			s.gpus[o.InstanceType] = gpuShape{o.GPUModel, o.GPUCount}
		}
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	opts := func(api []option.ClientOption) []option.ClientOption {
		return append(slices.Clone(cfg.Options), api...)
	}
	if s.instances, err = compute.NewInstancesRESTClient(ctx, opts(cfg.Compute)...); err != nil {
		return nil, fmt.Errorf("gcp: creating the instances client: %w", err)
	}
	if s.disks, err = compute.NewDisksRESTClient(ctx, opts(cfg.Compute)...); err != nil {
		return nil, fmt.Errorf("gcp: creating the disks client: %w", err)
	}
	if s.snapshots, err = compute.NewSnapshotsRESTClient(ctx, opts(cfg.Compute)...); err != nil {
		return nil, fmt.Errorf("gcp: creating the snapshots client: %w", err)
	}
	if s.storage, err = storage.NewClient(ctx, opts(cfg.Storage)...); err != nil {
		return nil, fmt.Errorf("gcp: creating the storage client: %w", err)
	}
	s.storage.SetRetry(
		storage.WithBackoff(gax.Backoff{Initial: s.retry.Initial, Max: s.retry.Max, Multiplier: 2}),
		storage.WithMaxAttempts(s.retry.MaxAttempts),
		storage.WithMaxRetryDuration(s.retry.Timeout),
		storage.WithErrorFunc(retryable),
	)
	if s.projects, err = resourcemanager.NewProjectsRESTClient(ctx, opts(cfg.Projects)...); err != nil {
		return nil, fmt.Errorf("gcp: creating the projects client: %w", err)
	}
	return s, nil
}

// Close releases the clients' connections.
func (s *Source) Close() error {
	var errs []error
	if s.instances != nil {
		errs = append(errs, s.instances.Close())
	}
	if s.disks != nil {
		errs = append(errs, s.disks.Close())
	}
	if s.snapshots != nil {
		errs = append(errs, s.snapshots.Close())
	}
	if s.storage != nil {
		errs = append(errs, s.storage.Close())
	}
	if s.projects != nil {
		errs = append(errs, s.projects.Close())
	}
	return errors.Join(errs...)
}

func retryOrDefault(r Retry) Retry {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if r.Initial == 0 {
		r.Initial = DefaultRetry.Initial
	}
	if r.Max == 0 {
		r.Max = DefaultRetry.Max
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultRetry.Timeout
	}
	return r
}

// callOptions replace the generated clients' defaults, which retry only
// 503 and 504 and never a 429, without a bound on the tries.
func (s *Source) callOptions() []gax.CallOption {
	return []gax.CallOption{
		gax.WithTimeout(s.retry.Timeout),
		gax.WithRetry(func() gax.Retryer {
			return &boundedRetryer{
				left: s.retry.MaxAttempts - 1,
				next: gax.OnHTTPCodes(gax.Backoff{Initial: s.retry.Initial, Max: s.retry.Max, Multiplier: 2}, RetryCodes...),
			}
		}),
	}
}

// boundedRetryer stops another retryer after a number of retries; gax
// makes one per request, so the count is per request (per page).
type boundedRetryer struct {
	left int
	next gax.Retryer
}

func (b *boundedRetryer) Retry(err error) (time.Duration, bool) {
	if b.left <= 0 {
		return 0, false
	}
	b.left--
	return b.next.Retry(err)
}

// retryable is the storage client's error test narrowed to RetryCodes
// for HTTP errors (it also retries connection resets and the like).
func retryable(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return slices.Contains(RetryCodes, ge.Code)
	}
	return storage.ShouldRetry(err)
}

// Discover lists the active projects the credentials can see.
func (s *Source) Discover(ctx context.Context) ([]inventory.Account, error) {
	var out []inventory.Account
	it := s.projects.SearchProjects(ctx, &resourcemanagerpb.SearchProjectsRequest{Query: "state:ACTIVE"}, s.callOptions()...)
	err := drain(it.Next, func(p *resourcemanagerpb.Project) error {
		if p.GetState() == resourcemanagerpb.Project_ACTIVE && p.GetProjectId() != "" {
			out = append(out, inventory.Account{Cloud: inventory.CloudGCP, ID: p.GetProjectId(), Name: p.GetDisplayName()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gcp: searching projects (cloudresourcemanager.projects.search): %w", err)
	}
	return out, nil
}

// Scan lists one project's instances, disks, snapshots and buckets, in
// that order, and emits them. Account.Regions, when set, keeps the
// resources of those regions only (a multi-region bucket or snapshot has
// no region and is kept only when no region is asked for). A listing that
// fails after its retries fails the project, naming it and the API method.
func (s *Source) Scan(ctx context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	if a.Cloud != inventory.CloudGCP {
		return fmt.Errorf("gcp: account %s is not a GCP project", a.Key())
	}
	keep := func(r *inventory.Resource) error {
		if len(a.Regions) > 0 && !slices.Contains(a.Regions, r.Region) {
			return nil
		}
		r.Account, r.Cloud = a.ID, inventory.CloudGCP
		return emit(r)
	}
	for _, l := range []struct {
		what, method string
		list         func(context.Context, string, func(*inventory.Resource) error) error
	}{
		{"instances", "compute.instances.aggregatedList", s.scanInstances},
		{"disks", "compute.disks.aggregatedList", s.scanDisks},
		{"snapshots", "compute.snapshots.list", s.scanSnapshots},
		{"buckets", "storage.buckets.list", s.scanBuckets},
	} {
		if err := l.list(ctx, a.ID, keep); err != nil {
			return fmt.Errorf("scanning project %s: listing %s (%s): %w", a.ID, l.what, l.method, err)
		}
	}
	return nil
}

func (s *Source) scanInstances(ctx context.Context, project string, emit func(*inventory.Resource) error) error {
	it := s.instances.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: project}, s.callOptions()...)
	return drain(it.Next, func(pair compute.InstancesScopedListPair) error {
		for _, in := range pair.Value.GetInstances() {
			if err := emit(s.instance(in)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Source) scanDisks(ctx context.Context, project string, emit func(*inventory.Resource) error) error {
	it := s.disks.AggregatedList(ctx, &computepb.AggregatedListDisksRequest{Project: project}, s.callOptions()...)
	return drain(it.Next, func(pair compute.DisksScopedListPair) error {
		for _, d := range pair.Value.GetDisks() {
			if err := emit(s.disk(d)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Source) scanSnapshots(ctx context.Context, project string, emit func(*inventory.Resource) error) error {
	it := s.snapshots.List(ctx, &computepb.ListSnapshotsRequest{Project: project}, s.callOptions()...)
	return drain(it.Next, func(sn *computepb.Snapshot) error { return emit(s.snapshot(sn)) })
}

func (s *Source) scanBuckets(ctx context.Context, project string, emit func(*inventory.Resource) error) error {
	it := s.storage.Buckets(ctx, project)
	return drain(it.Next, func(b *storage.BucketAttrs) error { return emit(s.bucket(project, b)) })
}

// drain calls each on every item of a Google API iterator (whose Next
// pages through the listing) until iterator.Done, or until an error.
func drain[T any](next func() (T, error), each func(T) error) error {
	for {
		v, err := next()
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return err
		}
		if err := each(v); err != nil {
			return err
		}
	}
}

// lastSegment is the name at the end of a resource URL
// (.../zones/us-central1-a → us-central1-a).
func lastSegment(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// zoneRegion is the region of a zone: us-central1-a → us-central1.
func zoneRegion(zone string) string {
	if i := strings.LastIndexByte(zone, '-'); i > 0 {
		return zone[:i]
	}
	return zone
}
