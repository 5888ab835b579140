package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v2"
	"golang.org/x/sync/errgroup"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Config is what the source needs from cmd/auditor.
type Config struct {
	// Credential authenticates every ARM request; one credential serves
	// every subscription (its tokens are cached and refreshed by azcore).
	// cmd/auditor builds it, e.g. azidentity.NewDefaultAzureCredential.
	Credential azcore.TokenCredential
	// ClientOptions are given to every ARM client: the cloud (public,
	// sovereign), logging, and in tests the transport. Its Retry is
	// ignored: Retry below replaces it.
	ClientOptions arm.ClientOptions
	// Retry tunes the azcore retry policy; each zero field takes its
	// value from DefaultRetry.
	Retry policy.RetryOptions
	// Catalog maps VM sizes to GPU models and counts; nil means
	// costing.DefaultCatalog.
	Catalog *costing.Catalog
	// PerAccount bounds the per-resource calls (instance views, blob
	// service properties) in flight at once within one subscription;
	// inventory.DefaultPerAccount when zero.
	PerAccount int
	// Now stamps Resource.Observed; nil means time.Now.
	Now func() time.Time
}

// DefaultRetry is the retry policy for ARM. ARM throttles reads per
// subscription and principal and answers 429 with a Retry-After of seconds
// to a minute; azcore waits what Retry-After says (or backs off
// exponentially from RetryDelay with jitter when there is none: about 2, 6,
// 14, 30 then 60 s) and gives up at once when Retry-After exceeds
// MaxRetryDelay. So one request waits at most MaxRetries × MaxRetryDelay =
// 5 min in total, and tries at most 6 times of TryTimeout each, before its
// subscription fails; the other subscriptions go on.
var DefaultRetry = policy.RetryOptions{
	MaxRetries:    5,
	RetryDelay:    2 * time.Second,
	MaxRetryDelay: 60 * time.Second,
	TryTimeout:    90 * time.Second,
}

// Source scans Azure subscriptions. It is safe for concurrent Scans of
// different subscriptions.
type Source struct {
	cred    azcore.TokenCredential
	opts    arm.ClientOptions
	gpus    map[string]gpuShape
	limit   int
	now     func() time.Time
	clients func(subscription string) (*clientSet, error)
}

// gpuShape is what a VM size brings: its GPUs.
type gpuShape struct {
	model string
	count int
}

// New checks cfg and prepares the source; it makes no request.
func New(cfg Config) (*Source, error) {
	if cfg.Credential == nil {
		return nil, fmt.Errorf("azure: no credential")
	}
	cat := cfg.Catalog
	if cat == nil {
		var err error
		if cat, err = costing.DefaultCatalog(); err != nil {
			return nil, fmt.Errorf("azure: %w", err)
		}
	}
	s := &Source{
		cred:  cfg.Credential,
		opts:  cfg.ClientOptions,
		gpus:  gpuShapes(cat, costing.Azure),
		limit: cfg.PerAccount,
		now:   cfg.Now,
	}
	s.opts.Retry = retryOptions(cfg.Retry)
	if s.limit <= 0 {
		s.limit = inventory.DefaultPerAccount
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.clients = s.newClientSet
	return s, nil
}

// retryOptions fills r's zero fields from DefaultRetry.
func retryOptions(r policy.RetryOptions) policy.RetryOptions {
	if r.MaxRetries == 0 {
		r.MaxRetries = DefaultRetry.MaxRetries
	}
	if r.RetryDelay == 0 {
		r.RetryDelay = DefaultRetry.RetryDelay
	}
	if r.MaxRetryDelay == 0 {
		r.MaxRetryDelay = DefaultRetry.MaxRetryDelay
	}
	if r.TryTimeout == 0 {
		r.TryTimeout = DefaultRetry.TryTimeout
	}
	return r
}

// gpuShapes indexes a catalog's instance types of one cloud. Sizes are
// compared case-insensitively: ARM returns Standard_NC24ads_A100_v4 and
// standard_nc24ads_a100_v4 alike.
func gpuShapes(cat *costing.Catalog, cloud string) map[string]gpuShape {
	m := map[string]gpuShape{}
	for _, o := range cat.Offers() {
		if o.Cloud == cloud && o.GPUCount > 0 {
			m[strings.ToLower(o.InstanceType)] = gpuShape{o.GPUModel, o.GPUCount}
		}
	}
	return m
}

// clientSet is one subscription's ARM clients.
type clientSet struct {
	vms       *armcompute.VirtualMachinesClient
	sets      *armcompute.VirtualMachineScaleSetsClient
	setVMs    *armcompute.VirtualMachineScaleSetVMsClient
	disks     *armcompute.DisksClient
	snapshots *armcompute.SnapshotsClient
	accounts  *armstorage.AccountsClient
	blobs     *armstorage.BlobServicesClient
}

func (s *Source) newClientSet(subscription string) (*clientSet, error) {
	compute, err := armcompute.NewClientFactory(subscription, s.cred, &s.opts)
	if err != nil {
		return nil, fmt.Errorf("creating compute clients: %w", err)
	}
	storage, err := armstorage.NewClientFactory(subscription, s.cred, &s.opts)
	if err != nil {
		return nil, fmt.Errorf("creating storage clients: %w", err)
	}
	return &clientSet{
		vms:       compute.NewVirtualMachinesClient(),
		sets:      compute.NewVirtualMachineScaleSetsClient(),
		setVMs:    compute.NewVirtualMachineScaleSetVMsClient(),
		disks:     compute.NewDisksClient(),
		snapshots: compute.NewSnapshotsClient(),
		accounts:  storage.NewAccountsClient(),
		blobs:     storage.NewBlobServicesClient(),
	}, nil
}

// Discover lists the subscriptions the credential can read, as accounts.
// Disabled and deleted subscriptions are left out: ARM refuses reads in
// them. Warned and past-due ones are still running, and paying.
func (s *Source) Discover(ctx context.Context) ([]inventory.Account, error) {
	c, err := armsubscriptions.NewClient(s.cred, &s.opts)
	if err != nil {
		return nil, fmt.Errorf("azure: creating subscriptions client: %w", err)
	}
	var out []inventory.Account
	pager := c.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("azure: listing subscriptions: %w", err)
		}
		for _, sub := range page.Value {
			if sub == nil || sub.SubscriptionID == nil {
				continue
			}
			switch deref(sub.State) {
			case armsubscriptions.SubscriptionStateDisabled, armsubscriptions.SubscriptionStateDeleted:
				continue
			}
			out = append(out, inventory.Account{
				Cloud: inventory.CloudAzure,
				ID:    strings.ToLower(*sub.SubscriptionID),
				Name:  deref(sub.DisplayName),
			})
		}
	}
	return out, nil
}

// Scan lists one subscription's VMs, the instances of its scale sets,
// managed disks, snapshots and storage accounts, in that order, and emits
// them. Account.Regions, when set, keeps the resources of those locations
// only (ARM lists a subscription across every location at once). A listing that fails after its retries fails
// the subscription, naming it and the resource type.
func (s *Source) Scan(ctx context.Context, a inventory.Account, emit func(*inventory.Resource) error) error {
	if a.Cloud != inventory.CloudAzure {
		return fmt.Errorf("azure: account %s is not an Azure subscription", a.Key())
	}
	c, err := s.clients(a.ID)
	if err != nil {
		return fmt.Errorf("scanning subscription %s: %w", a.ID, err)
	}
	keep := func(r *inventory.Resource) error {
		if len(a.Regions) > 0 && !slices.ContainsFunc(a.Regions, func(re string) bool { return strings.EqualFold(re, r.Region) }) {
			return nil
		}
		r.Account, r.Cloud = a.ID, inventory.CloudAzure
		return emit(r)
	}
	for _, l := range []struct {
		what string
		list func(context.Context, *clientSet, func(*inventory.Resource) error) error
	}{
		{"virtual machines", s.scanVMs},
		{"scale set instances", s.scanScaleSets},
		{"managed disks", s.scanDisks},
		{"snapshots", s.scanSnapshots},
		{"storage accounts", s.scanAccounts},
	} {
		if err := l.list(ctx, c, keep); err != nil {
			return fmt.Errorf("scanning subscription %s: listing %s: %w", a.ID, l.what, err)
		}
	}
	return nil
}

// scanVMs lists VMs twice: with statusOnly=true, which gives every VM's
// instance view (its power state) but leaves out its tags, size and disks
// (azure-sdk-for-go#18565), then in full, joined by ID. Two paged listings
// instead of one instance view request per VM; a VM created between the
// two has its instance view asked for, and one deleted since (its instance
// view is not found) is left out.
func (s *Source) scanVMs(ctx context.Context, c *clientSet, emit func(*inventory.Resource) error) error {
	states := map[string]string{}
	pager := c.vms.NewListAllPager(&armcompute.VirtualMachinesClientListAllOptions{StatusOnly: to.Ptr("true")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing power states: %w", err)
		}
		for _, vm := range page.Value {
			if vm != nil && vm.ID != nil {
				if vm.Properties == nil || vm.Properties.InstanceView == nil {
					continue
				}
				if st := powerState(vm.Properties.InstanceView.Statuses); st != "" {
					states[normID(*vm.ID)] = st
				}
			}
		}
	}
	pager = c.vms.NewListAllPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		vms := slices.DeleteFunc(page.Value, func(vm *armcompute.VirtualMachine) bool { return vm == nil || vm.ID == nil })
		found := make([]string, len(vms))
		var missing []int
		for i, vm := range vms {
			if found[i] = states[normID(*vm.ID)]; found[i] == "" {
				missing = append(missing, i)
			}
		}
		err = s.each(ctx, len(missing), func(ctx context.Context, j int) error {
			i := missing[j]
			id, err := arm.ParseResourceID(*vms[i].ID)
			if err != nil {
				return fmt.Errorf("parsing VM ID %q: %w", *vms[i].ID, err)
			}
			iv, err := c.vms.InstanceView(ctx, id.ResourceGroupName, id.Name, nil)
			if notFound(err) {
				vms[i] = nil
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading the instance view of %s: %w", *vms[i].ID, err)
			}
			found[i] = powerState(iv.Statuses)
			return nil
		})
		if err != nil {
			return err
		}
		for i, vm := range vms {
			if vm == nil {
				continue
			}
			if err := emit(s.vm(vm, found[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanScaleSets lists the instances of Uniform scale sets, which the VM
// listing leaves out: AKS node pools are such scale sets, so a cluster's
// GPU nodes are here. A Flexible scale set's VMs are ordinary VMs, listed
// with the others. Each instance list asks for the instance views, which
// it can (unlike the VM listing) return in full.
func (s *Source) scanScaleSets(ctx context.Context, c *clientSet, emit func(*inventory.Resource) error) error {
	pager := c.sets.NewListAllPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, set := range page.Value {
			if set == nil || set.ID == nil ||
				(set.Properties != nil && deref(set.Properties.OrchestrationMode) == armcompute.OrchestrationModeFlexible) {
				continue
			}
			// A scale set deleted since it was listed has no
			// instances to list.
			if err := s.scanScaleSetVMs(ctx, c, set, emit); err != nil && !notFound(err) {
				return fmt.Errorf("listing the instances of %s: %w", normID(*set.ID), err)
			}
		}
	}
	return nil
}

func (s *Source) scanScaleSetVMs(ctx context.Context, c *clientSet, set *armcompute.VirtualMachineScaleSet, emit func(*inventory.Resource) error) error {
	id, err := arm.ParseResourceID(*set.ID)
	if err != nil {
		return fmt.Errorf("parsing the scale set ID: %w", err)
	}
	pager := c.setVMs.NewListPager(id.ResourceGroupName, id.Name, &armcompute.VirtualMachineScaleSetVMsClientListOptions{Expand: to.Ptr("instanceView")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, vm := range page.Value {
			if vm == nil || vm.ID == nil {
				continue
			}
			if err := emit(s.scaleSetVM(set, vm)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Source) scanDisks(ctx context.Context, c *clientSet, emit func(*inventory.Resource) error) error {
	pager := c.disks.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, d := range page.Value {
			if d == nil || d.ID == nil {
				continue
			}
			if err := emit(s.disk(d)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Source) scanSnapshots(ctx context.Context, c *clientSet, emit func(*inventory.Resource) error) error {
	pager := c.snapshots.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, sn := range page.Value {
			if sn == nil || sn.ID == nil {
				continue
			}
			if err := emit(s.snapshot(sn)); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanAccounts lists storage accounts and reads each one's blob service
// properties, where versioning and soft delete live (the account listing
// does not carry them): one request per account, PerAccount at once.
func (s *Source) scanAccounts(ctx context.Context, c *clientSet, emit func(*inventory.Resource) error) error {
	pager := c.accounts.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		accts := slices.DeleteFunc(page.Value, func(a *armstorage.Account) bool { return a == nil || a.ID == nil })
		blobs := make([]*armstorage.BlobServicePropertiesProperties, len(accts))
		err = s.each(ctx, len(accts), func(ctx context.Context, i int) error {
			// A FileStorage account has no blob service to ask.
			if deref(accts[i].Kind) == armstorage.KindFileStorage {
				return nil
			}
			id, err := arm.ParseResourceID(*accts[i].ID)
			if err != nil {
				return fmt.Errorf("parsing storage account ID %q: %w", *accts[i].ID, err)
			}
			p, err := c.blobs.GetServiceProperties(ctx, id.ResourceGroupName, id.Name, nil)
			if notFound(err) { // deleted since it was listed
				accts[i] = nil
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading the blob service properties of %s: %w", *accts[i].ID, err)
			}
			blobs[i] = p.BlobServiceProperties.BlobServiceProperties
			return nil
		})
		if err != nil {
			return err
		}
		for i, acct := range accts {
			if acct == nil {
				continue
			}
			if err := emit(s.account(acct, blobs[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// notFound reports ARM's 404: a resource deleted between its listing and
// a request about it, which is no reason to fail the subscription.
func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// each runs fn for 0..n-1, at most s.limit at once, and returns the first
// error.
func (s *Source) each(ctx context.Context, n int, fn func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.limit)
	for i := range n {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}
