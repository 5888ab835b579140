package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

var (
	t0       = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	observed = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	// fastRetry is the policy of the tests: the shape of DefaultRetry
	// in milliseconds. MaxWait = 10+20+40+40 = 110 ms.
	fastRetry = Retry{MaxAttempts: 5, BaseDelay: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
)

// richWorld gives account A one of everything the scanner classifies, in
// two enabled regions, with pages of two so that every list takes several
// calls.
func richWorld(f *fakeAWS) {
	f.ExternalID = "ext-42"
	arnA := func(region, id string) string { return keyARN(region, acctA, id) }
	f.Accounts[acctA] = &fakeAccount{
		Enabled: []string{"us-east-1", "eu-west-1"},
		Regions: map[string]*fakeRegion{
			"eu-west-1": {
				Keys: []fakeKey{
					{ID: "ebs-managed", Manager: "AWS", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Created: t0},
					{ID: "cmk-data", Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Rotation: true, Created: t0},
					{ID: "cmk-norot", Manager: "CUSTOMER", State: "Disabled", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Created: t0},
					{ID: "cmk-rsa", Manager: "CUSTOMER", State: "Enabled", Spec: "RSA_2048", Origin: "AWS_KMS", Created: t0},
					{ID: "cmk-bucket", Manager: "CUSTOMER", State: "PendingDeletion", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Created: t0},
				},
				Aliases: map[string]string{"alias/aws/ebs": "ebs-managed", "alias/bucket-key": "cmk-bucket"},
				Instances: []fakeInstance{
					{ID: "i-gpu", Type: "p5.48xlarge", State: "running", Zone: "eu-west-1a", Launch: t0,
						Tags: map[string]string{"Name": "trainer", "team": "ml"}, Volumes: []string{"vol-root", "vol-data"}},
					{ID: "i-spot", Type: "g6.xlarge", State: "stopped", Lifecycle: "spot", Zone: "eu-west-1b", Launch: t0},
					{ID: "i-new", Type: "p6-b300.48xlarge", State: "running", Zone: "eu-west-1c", Launch: t0},
					{ID: "i-cpu", Type: "m7i.large", State: "stopping", Zone: "eu-west-1a", Launch: t0},
					{ID: "i-gone", Type: "p5.48xlarge", State: "terminated", Zone: "eu-west-1a", Launch: t0},
				},
				Volumes: []fakeVolume{
					{ID: "vol-root", Size: 100, Type: "gp3", Encrypted: true, Key: arnA("eu-west-1", "ebs-managed"), AttachedTo: "i-gpu", Zone: "eu-west-1a", Created: t0},
					{ID: "vol-data", Size: 2000, Type: "io2", Encrypted: true, Key: arnA("eu-west-1", "cmk-data"), AttachedTo: "i-gpu", Zone: "eu-west-1a", Created: t0,
						Tags: map[string]string{"Name": "data"}},
					{ID: "vol-orphan", Size: 50, Type: "gp2", Zone: "eu-west-1b", Created: t0},
					{ID: "vol-shared", Size: 10, Type: "gp3", Encrypted: true, Key: keyARN("eu-west-1", acctB, "shared-1"), Zone: "eu-west-1b", Created: t0},
					{ID: "vol-lost", Size: 20, Type: "gp3", Encrypted: true, Key: arnA("eu-west-1", "deleted-1"), Zone: "eu-west-1b", Created: t0},
				},
				Snapshots: []fakeSnapshot{
					{ID: "snap-own", Volume: "vol-data", Size: 2000, Encrypted: true, Key: arnA("eu-west-1", "cmk-data"), Start: t0},
					{ID: "snap-public", Volume: "vol-ffffffff", Size: 8, Start: t0, Public: true},
					{ID: "snap-plain", Volume: "vol-orphan", Size: 50, Start: t0},
				},
			},
			"us-east-1": {
				Keys:      []fakeKey{{ID: "s3-managed", Manager: "AWS", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", Created: t0}},
				Instances: []fakeInstance{{ID: "i-us", Type: "g6.12xlarge", State: "running", Zone: "us-east-1a", Launch: t0}},
			},
			// Not enabled: DescribeRegions does not list it, so it
			// must not be scanned.
			"ap-south-2": {Instances: []fakeInstance{{ID: "i-hidden", Type: "m7i.large", State: "running", Launch: t0}}},
		},
		Buckets: []fakeBucket{
			{Name: "b-eu", Location: "eu-west-1", Created: t0, SSE: "aws:kms", KMSKey: "arn:aws:kms:eu-west-1:" + acctA + ":alias/bucket-key",
				Block: &[4]bool{true, true, true, true}, Versioning: "Enabled", Tags: map[string]string{"team": "ml"}},
			{Name: "b-us", Location: "", Created: t0, SSE: "AES256", Versioning: "Suspended"},
			{Name: "b-old", Location: "EU", Created: t0, Block: &[4]bool{true, true, true, false}},
			{Name: "b-s3key", Location: "eu-central-1", Created: t0, SSE: "aws:kms"},
		},
	}
}

// richExpected is what richWorld must come out as.
func richExpected() []*inventory.Resource {
	res := func(kind inventory.Kind, id, region, zone string) *inventory.Resource {
		return &inventory.Resource{Kind: kind, ID: id, Account: acctA, Cloud: inventory.CloudAWS, Region: region, Zone: zone, Created: t0, Observed: observed}
	}
	provider := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	customer := func(arn string) inventory.Encryption {
		return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: arn}
	}
	var out []*inventory.Resource
	add := func(r *inventory.Resource, set func(*inventory.Resource)) {
		set(r)
		out = append(out, r)
	}
	key := func(id, region, state, manager string, rot bool) {
		add(res(inventory.KindKey, keyARN(region, acctA, id), region, ""), func(r *inventory.Resource) {
			r.Name, r.Key = id, &inventory.Key{State: state, Manager: manager, RotationEnabled: rot}
		})
	}
	key("ebs-managed", "eu-west-1", "enabled", "provider", true)
	key("cmk-data", "eu-west-1", "enabled", "customer", true)
	key("cmk-norot", "eu-west-1", "disabled", "customer", false)
	key("cmk-rsa", "eu-west-1", "enabled", "customer", false)
	key("cmk-bucket", "eu-west-1", "pending-deletion", "customer", false)
	key("s3-managed", "us-east-1", "enabled", "provider", true)

	add(res(inventory.KindInstance, "i-gpu", "eu-west-1", "eu-west-1a"), func(r *inventory.Resource) {
		r.Name, r.Labels = "trainer", map[string]string{"Name": "trainer", "team": "ml"}
		r.Instance = &inventory.Instance{InstanceType: "p5.48xlarge", State: "running", CapacityType: "on-demand",
			GPUModel: "H100", GPUCount: 8, Disks: []string{"vol-root", "vol-data"}}
	})
	add(res(inventory.KindInstance, "i-spot", "eu-west-1", "eu-west-1b"), func(r *inventory.Resource) {
		r.Instance = &inventory.Instance{InstanceType: "g6.xlarge", State: "stopped", CapacityType: "spot", GPUModel: "L4", GPUCount: 1}
	})
	// A GPU type the catalog does not know: no model, no count, no guess.
	add(res(inventory.KindInstance, "i-new", "eu-west-1", "eu-west-1c"), func(r *inventory.Resource) {
		r.Instance = &inventory.Instance{InstanceType: "p6-b300.48xlarge", State: "running", CapacityType: "on-demand"}
	})
	add(res(inventory.KindInstance, "i-cpu", "eu-west-1", "eu-west-1a"), func(r *inventory.Resource) {
		r.Instance = &inventory.Instance{InstanceType: "m7i.large", State: "stopped", CapacityType: "on-demand"}
	})
	add(res(inventory.KindInstance, "i-us", "us-east-1", "us-east-1a"), func(r *inventory.Resource) {
		r.Instance = &inventory.Instance{InstanceType: "g6.12xlarge", State: "running", CapacityType: "on-demand", GPUModel: "L4", GPUCount: 4}
	})

	disk := func(id, zone, typ string, size int64, enc inventory.Encryption, attached string, labels map[string]string) {
		add(res(inventory.KindDisk, id, "eu-west-1", zone), func(r *inventory.Resource) {
			r.Labels, r.Name = labels, labels["Name"]
			r.Disk = &inventory.Disk{SizeGiB: size, Type: typ, Encryption: enc, AttachedTo: attached}
		})
	}
	disk("vol-root", "eu-west-1a", "gp3", 100, provider, "i-gpu", nil)
	disk("vol-data", "eu-west-1a", "io2", 2000, customer(keyARN("eu-west-1", acctA, "cmk-data")), "i-gpu", map[string]string{"Name": "data"})
	disk("vol-orphan", "eu-west-1b", "gp2", 50, inventory.Encryption{}, "", nil)
	disk("vol-shared", "eu-west-1b", "gp3", 10, customer(keyARN("eu-west-1", acctB, "shared-1")), "", nil)
	disk("vol-lost", "eu-west-1b", "gp3", 20, customer(keyARN("eu-west-1", acctA, "deleted-1")), "", nil)

	add(res(inventory.KindSnapshot, "snap-own", "eu-west-1", ""), func(r *inventory.Resource) {
		r.Snapshot = &inventory.Snapshot{SizeGiB: 2000, SourceDisk: "vol-data", Encryption: customer(keyARN("eu-west-1", acctA, "cmk-data"))}
	})
	add(res(inventory.KindSnapshot, "snap-plain", "eu-west-1", ""), func(r *inventory.Resource) {
		r.Snapshot = &inventory.Snapshot{SizeGiB: 50, SourceDisk: "vol-orphan"}
	})

	bucket := func(name, region string, b inventory.Bucket, labels map[string]string) {
		add(res(inventory.KindBucket, name, region, ""), func(r *inventory.Resource) {
			b.Location = region
			r.Name, r.Labels, r.Bucket = name, labels, &b
		})
	}
	bucket("b-eu", "eu-west-1", inventory.Bucket{Encryption: customer(keyARN("eu-west-1", acctA, "cmk-bucket")), PublicAccessBlocked: true, Versioning: true},
		map[string]string{"team": "ml"})
	bucket("b-us", "us-east-1", inventory.Bucket{Encryption: provider}, nil)
	bucket("b-old", "eu-west-1", inventory.Bucket{}, nil)
	bucket("b-s3key", "eu-central-1", inventory.Bucket{Encryption: provider}, nil)
	sortResources(out)
	return out
}

func sortResources(rs []*inventory.Resource) {
	slices.SortFunc(rs, func(a, b *inventory.Resource) int {
		return strings.Compare(string(a.Kind)+"/"+a.ID, string(b.Kind)+"/"+b.ID)
	})
}

func testConfig(f *fakeAWS) Config {
	return Config{
		AWS: awssdk.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider(callerKey, "caller-secret", ""),
		},
		Endpoints:  endpoints(f),
		Retry:      fastRetry,
		PerAccount: 2,
		Now:        func() time.Time { return observed },
	}
}

func newTestScanner(t testing.TB, cfg Config) *Scanner {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func accountOf(f *fakeAWS, id string) inventory.Account {
	return inventory.Account{Cloud: inventory.CloudAWS, ID: id, RoleARN: f.RoleARN(id), ExternalID: f.ExternalID}
}

// scan runs one account's scan as the runner would, checking each record
// as the runner does.
func scan(t testing.TB, s *Scanner, a inventory.Account) ([]*inventory.Resource, error) {
	t.Helper()
	var got []*inventory.Resource
	err := s.Scan(context.Background(), a, func(r *inventory.Resource) error {
		if err := r.Validate(); err != nil {
			t.Errorf("invalid resource: %v", err)
		}
		got = append(got, r)
		return nil
	})
	sortResources(got)
	return got, err
}

// TestScanEmitsResources scans richWorld end to end through the real SDK
// and checks every record, the role assumed, the pages followed and the
// key lookups saved by the cache.
func TestScanEmitsResources(t *testing.T) {
	f := newFakeAWS(t)
	richWorld(f)
	s := newTestScanner(t, testConfig(f))
	got, err := scan(t, s, accountOf(f, acctA))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(richExpected(), got); d != "" {
		t.Errorf("resources (-want +got):\n%s", d)
	}

	want := []assumeCall{{Caller: callerAccount, Role: "arn:aws:iam::" + acctA + ":role/QuartermasterAudit", ExternalID: "ext-42",
		Session: DefaultSessionName, Duration: "3600"}}
	if d := cmp.Diff(want, f.AssumeCalls()); d != "" {
		t.Errorf("AssumeRole calls (-want +got):\n%s", d)
	}
	// Pages of two: every paginator must follow its token to the end.
	pages := map[string]int{
		"ec2:DescribeRegions us-east-1":      1,
		"ec2:DescribeInstances eu-west-1":    2, // 4 live instances; the terminated one is filtered out by EC2
		"ec2:DescribeVolumes eu-west-1":      3, // 5 volumes
		"ec2:DescribeSnapshots eu-west-1":    1, // 2 own; the public one only without Owner=self
		"kms:ListKeys eu-west-1":             3, // 5 keys
		"s3:ListAllMyBuckets us-east-1":      2, // 4 buckets
		"ec2:DescribeInstances ap-south-2":   0,
		"kms:GetKeyRotationStatus eu-west-1": 3, // the customer's symmetric keys only
	}
	for k, n := range pages {
		api, region, _ := strings.Cut(k, " ")
		if got := f.CallsOf(api, acctA, region); got != n {
			t.Errorf("%s: %d calls, want %d", k, got, n)
		}
	}
	// One DescribeKey per key: the listing's, which the volumes and the
	// snapshot then read from the cache; the alias and the deleted key
	// once each; another account's key never.
	described := f.Described()
	for ref, n := range map[string]int{
		keyARN("eu-west-1", acctA, "cmk-data"):                 1,
		keyARN("eu-west-1", acctA, "deleted-1"):                1,
		"arn:aws:kms:eu-west-1:" + acctA + ":alias/bucket-key": 1,
		keyARN("eu-west-1", acctB, "shared-1"):                 0,
	} {
		if described[ref] != n {
			t.Errorf("DescribeKey(%s): %d calls, want %d", ref, described[ref], n)
		}
	}
	if st := s.Stats(); st.Configs != 1 || st.CredentialProviders != 1 {
		t.Errorf("stats %+v: want one config and one credential provider", st)
	}
}

// TestScanHonoursAccountRegions: an account's listed regions replace
// DescribeRegions, and buckets elsewhere are left out with them.
func TestScanHonoursAccountRegions(t *testing.T) {
	f := newFakeAWS(t)
	richWorld(f)
	cfg := testConfig(f)
	var logged bytes.Buffer
	cfg.Log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newTestScanner(t, cfg)
	a := accountOf(f, acctA)
	a.Regions = []string{"us-east-1"}
	got, err := scan(t, s, a)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	want := []string{"b-us", "i-us", keyARN("us-east-1", acctA, "s3-managed")}
	if !slices.Equal(ids, want) {
		t.Errorf("resources %v, want %v", ids, want)
	}
	if n := f.CallsOf("ec2:DescribeRegions", acctA, "us-east-1"); n != 0 {
		t.Errorf("DescribeRegions called %d times for an account with listed regions", n)
	}
	if want := "msg=\"scanning aws account\" account=111111111111 regions=[us-east-1] buckets=4 perAccount=2"; !strings.Contains(logged.String(), want) {
		t.Errorf("log %q does not contain %q", logged.String(), want)
	}
}

// TestScanPerAccountLimit: an account's regions and buckets run
// concurrently, never more than PerAccount calls at once.
func TestScanPerAccountLimit(t *testing.T) {
	for _, limit := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			f := newFakeAWS(t)
			richWorld(f)
			f.Delay = 10 * time.Millisecond
			cfg := testConfig(f)
			cfg.PerAccount = limit
			if _, err := scan(t, newTestScanner(t, cfg), accountOf(f, acctA)); err != nil {
				t.Fatal(err)
			}
			if got := f.MaxInflightOf(acctA); got != limit {
				t.Errorf("at most %d calls at once, want %d", got, limit)
			}
		})
	}
}

// TestScanUsesGivenCatalog: the GPU of an instance type is the catalog's,
// so a catalog that knows a new type reports its GPUs.
func TestScanUsesGivenCatalog(t *testing.T) {
	f := newFakeAWS(t)
	richWorld(f)
	cat, err := costing.NewCatalog([]costing.Offer{{Cloud: "aws", Region: "eu-west-1", InstanceType: "p6-b300.48xlarge",
		GPUModel: "B300", GPUCount: 8, VCPUs: 192, MemoryGiB: 4096, PriceHourly: 100}}, costing.DefaultRegions(), costing.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(f)
	cfg.Catalog = cat
	got, err := scan(t, newTestScanner(t, cfg), accountOf(f, acctA))
	if err != nil {
		t.Fatal(err)
	}
	gpus := map[string]string{}
	for _, r := range got {
		if r.Instance != nil {
			gpus[r.ID] = fmt.Sprintf("%s×%d", r.Instance.GPUModel, r.Instance.GPUCount)
		}
	}
	// The given catalog replaces the default: p5 and g6 are unknown to it.
	want := map[string]string{"i-new": "B300×8", "i-gpu": "×0", "i-spot": "×0", "i-cpu": "×0", "i-us": "×0"}
	if d := cmp.Diff(want, gpus); d != "" {
		t.Errorf("GPUs (-want +got):\n%s", d)
	}
}

// TestScanRetriesThrottling: each service's throttling answer, in its own
// protocol, is retried with backoff and the scan then completes whole.
func TestScanRetriesThrottling(t *testing.T) {
	adaptive := fastRetry
	adaptive.Adaptive = true
	tests := map[string]struct {
		api, region string
		ft          fault
		retry       Retry
	}{
		"EC2 RequestLimitExceeded (503)": {api: "ec2:DescribeVolumes", region: "eu-west-1",
			ft: fault{N: 3, Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}},
		"S3 SlowDown (503)": {api: "s3:GetBucketPublicAccessBlock", region: "eu-central-1",
			ft: fault{N: 3, Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."}},
		"KMS ThrottlingException (400)": {api: "kms:ListKeys", region: "eu-west-1",
			ft: fault{N: 3, Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}},
		"STS Throttling (400)": {api: "sts:AssumeRole", region: "us-east-1",
			ft: fault{N: 2, Status: 400, Code: "Throttling", Message: "Rate exceeded"}},
		"EC2 with the adaptive rate limiter": {api: "ec2:DescribeInstances", region: "eu-west-1", retry: adaptive,
			ft: fault{N: 2, Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS(t)
			richWorld(f)
			cfg := testConfig(f)
			if tc.retry != (Retry{}) {
				cfg.Retry = tc.retry
			}
			account := acctA
			if strings.HasPrefix(tc.api, "sts:") {
				account = callerAccount // STS is called with the caller's credentials
			}
			f.Fail(tc.api, account, tc.region, tc.ft)
			got, err := scan(t, newTestScanner(t, cfg), accountOf(f, acctA))
			if err != nil {
				t.Fatalf("scan failed after throttling: %v", err)
			}
			if d := cmp.Diff(richExpected(), got); d != "" {
				t.Errorf("resources (-want +got):\n%s", d)
			}
			times := f.TimesOf(tc.api, account, tc.region)
			if len(times) < tc.ft.N+1 {
				t.Fatalf("%d calls, want the %d throttled ones and a success", len(times), tc.ft.N)
			}
			waited := times[tc.ft.N].Sub(times[0])
			t.Logf("%d throttles, then success after %v", tc.ft.N, waited)
			if waited <= 0 {
				t.Errorf("retried without backing off")
			}
			if waited > cfg.Retry.MaxWait()+time.Second {
				t.Errorf("waited %v, more than the policy's bound %v", waited, cfg.Retry.MaxWait())
			}
		})
	}
}

// TestScanFailsAccount: a call that fails for good fails the account with
// an error naming the account, region and API; throttling only after the
// bounded retries, a denial at once.
func TestScanFailsAccount(t *testing.T) {
	tests := map[string]struct {
		api, region string
		ft          fault
		externalID  string // what the role's trust policy wants, when not the default
		retry       Retry
		want        string
		calls       int
		throttled   bool
		denied      bool
	}{
		"EC2 throttled past the bound": {api: "ec2:DescribeVolumes", region: "eu-west-1",
			ft:    fault{N: -1, Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."},
			want:  "ec2:DescribeVolumes in 111111111111/eu-west-1: RequestLimitExceeded: Request limit exceeded. (gave up after 5 attempts)",
			calls: 5, throttled: true},
		"EC2 throttled past the bound, adaptive": {api: "ec2:DescribeInstances", region: "us-east-1",
			retry: Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Adaptive: true},
			ft:    fault{N: -1, Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."},
			want:  "ec2:DescribeInstances in 111111111111/us-east-1: RequestLimitExceeded: Request limit exceeded. (gave up after 3 attempts)",
			calls: 3, throttled: true},
		"S3 throttled past the bound": {api: "s3:GetBucketPublicAccessBlock", region: "eu-central-1",
			ft:    fault{N: -1, Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."},
			want:  "s3:GetBucketPublicAccessBlock in 111111111111/eu-central-1 on b-s3key: SlowDown: Please reduce your request rate. (gave up after 5 attempts)",
			calls: 5, throttled: true},
		"EC2 denied": {api: "ec2:DescribeSnapshots", region: "eu-west-1",
			ft:    fault{N: -1, Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."},
			want:  "ec2:DescribeSnapshots in 111111111111/eu-west-1: UnauthorizedOperation: You are not authorized to perform this operation.",
			calls: 1, denied: true},
		"KMS denied": {api: "kms:ListKeys", region: "us-east-1",
			ft:    fault{N: -1, Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: kms:ListKeys"},
			want:  "kms:ListKeys in 111111111111/us-east-1: AccessDeniedException: not authorized to perform: kms:ListKeys",
			calls: 1, denied: true},
		"S3 denied": {api: "s3:GetBucketVersioning", region: "us-east-1",
			ft:    fault{N: -1, Status: 403, Code: "AccessDenied", Message: "Access Denied"},
			want:  "s3:GetBucketVersioning in 111111111111/us-east-1 on b-us: AccessDenied: Access Denied",
			calls: 1, denied: true},
		"role's trust wants another external ID": {externalID: "other",
			want:   "sts:AssumeRole in 111111111111/us-east-1 on arn:aws:iam::111111111111:role/QuartermasterAudit: AccessDenied: User: arn:aws:iam::000000000000:user/auditor is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/QuartermasterAudit",
			denied: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS(t)
			richWorld(f)
			a := accountOf(f, acctA)
			if tc.externalID != "" {
				f.ExternalID = tc.externalID
			}
			if tc.api != "" {
				f.Fail(tc.api, acctA, tc.region, tc.ft)
			}
			cfg := testConfig(f)
			if tc.retry != (Retry{}) {
				cfg.Retry = tc.retry
			}
			start := time.Now()
			_, err := scan(t, newTestScanner(t, cfg), a)
			took := time.Since(start)
			if err == nil {
				t.Fatal("scan succeeded")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Account != acctA {
				t.Errorf("error %T does not name the account as an APIError", err)
			}
			if IsThrottled(err) != tc.throttled || IsAccessDenied(err) != tc.denied {
				t.Errorf("IsThrottled %t, IsAccessDenied %t; want %t, %t", IsThrottled(err), IsAccessDenied(err), tc.throttled, tc.denied)
			}
			if tc.api != "" {
				if n := f.CallsOf(tc.api, acctA, tc.region); n != tc.calls {
					t.Errorf("%s called %d times, want %d", tc.api, n, tc.calls)
				}
			}
			t.Logf("failed after %v", took)
			if bound := cfg.Retry.MaxWait() + 2*time.Second; took > bound {
				t.Errorf("took %v to fail, want at most the retry bound %v plus the scan", took, bound)
			}
		})
	}
}

// TestScanSkipsDeletedBuckets: a bucket deleted after ListBuckets answers
// NoSuchBucket to the calls about it (MinIO's test shows S3's wire answer);
// it is left out of the inventory, and the account's scan goes on.
func TestScanSkipsDeletedBuckets(t *testing.T) {
	gone := fault{N: -1, Status: 404, Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	tests := map[string]struct {
		api, region string
		ft          fault
		bucket      string
	}{
		// PerAccount 1 scans the buckets in ListBuckets order: the
		// first location asked is b-eu's.
		"before its location": {api: "s3:GetBucketLocation", region: "us-east-1", ft: fault{N: 1, Status: 404, Code: gone.Code, Message: gone.Message}, bucket: "b-eu"},
		"between its calls":   {api: "s3:GetBucketVersioning", region: "eu-central-1", ft: gone, bucket: "b-s3key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS(t)
			richWorld(f)
			f.Fail(tc.api, acctA, tc.region, tc.ft)
			cfg := testConfig(f)
			cfg.PerAccount = 1
			got, err := scan(t, newTestScanner(t, cfg), accountOf(f, acctA))
			if err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc(richExpected(), func(r *inventory.Resource) bool {
				return r.Kind == inventory.KindBucket && r.ID == tc.bucket
			})
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("resources (-want +got):\n%s", d)
			}
		})
	}
}

// TestRunnerReportsFailedAccount: through inventory.Runner, an account with
// a denied API in one region is reported failed with that error, and none
// of its resources reach the sink; the other account is whole.
func TestRunnerReportsFailedAccount(t *testing.T) {
	f := newFakeAWS(t)
	richWorld(f)
	f.Accounts[acctB] = &fakeAccount{Enabled: []string{"eu-west-1"}, Regions: map[string]*fakeRegion{
		"eu-west-1": {Instances: []fakeInstance{{ID: "i-b", Type: "m7i.large", State: "running", Launch: t0}}},
	}}
	f.Fail("ec2:DescribeVolumes", acctA, "eu-west-1", fault{N: -1, Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."})
	s := newTestScanner(t, testConfig(f))
	r := &inventory.Runner{Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudAWS: s}}
	var sunk []string
	sum, err := r.Run(context.Background(), []inventory.Account{accountOf(f, acctA), accountOf(f, acctB)}, func(res *inventory.Resource) error {
		sunk = append(sunk, res.Account+"/"+res.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.Accounts[0].Status != inventory.StatusFailed || sum.Accounts[1].Status != inventory.StatusScanned {
		t.Fatalf("summary %+v: want account A failed and B scanned", sum)
	}
	if want := "ec2:DescribeVolumes in 111111111111/eu-west-1: UnauthorizedOperation: You are not authorized to perform this operation."; sum.Accounts[0].Error != want {
		t.Errorf("account A error %q, want %q", sum.Accounts[0].Error, want)
	}
	if want := []string{acctB + "/i-b"}; !slices.Equal(sunk, want) {
		t.Errorf("sink got %v, want only %v", sunk, want)
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := map[string]struct {
		mod  func(*Config)
		want string
	}{
		"no credentials":     {mod: func(c *Config) { c.AWS.Credentials = nil }, want: "aws: no credentials in the AWS config (build it with LoadDefault)"},
		"negative limit":     {mod: func(c *Config) { c.PerAccount = -1 }, want: "per-account limit -1: want at least 1 (0 means 4)"},
		"backoff below base": {mod: func(c *Config) { c.Retry = Retry{MaxAttempts: 3, BaseDelay: time.Second, MaxBackoff: time.Millisecond} }, want: "retry {MaxAttempts:3 BaseDelay:1s MaxBackoff:1ms Adaptive:false}: want at least 1 attempt and 0 < base delay <= max backoff"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := Config{AWS: awssdk.Config{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}}
			tc.mod(&cfg)
			_, err := New(cfg)
			if err == nil || err.Error() != tc.want {
				t.Errorf("New: %v, want %s", err, tc.want)
			}
		})
	}
}

// TestDefaultRetryBound pins the figures docs/inventory-aws.md gives.
func TestDefaultRetryBound(t *testing.T) {
	if got := DefaultRetry.MaxWait(); got != 65500*time.Millisecond {
		t.Errorf("DefaultRetry.MaxWait() = %v, want 65.5s as documented", got)
	}
	if got := fastRetry.MaxWait(); got != 110*time.Millisecond {
		t.Errorf("fastRetry.MaxWait() = %v, want 110ms", got)
	}
	for attempt := 1; attempt <= 10; attempt++ {
		for range 100 {
			d, _ := DefaultRetry.BackoffDelay(attempt, nil)
			if d < 0 || d > DefaultRetry.ceiling(attempt) {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, DefaultRetry.ceiling(attempt))
			}
		}
	}
}

// TestScanSessionNameAndHomeRegion: the session name is the one CloudTrail
// shows in each account, and account-wide calls go to the configured home
// region.
func TestScanSessionNameAndHomeRegion(t *testing.T) {
	f := newFakeAWS(t)
	richWorld(f)
	cfg := testConfig(f)
	cfg.SessionName, cfg.Region = "qm-nightly", "eu-west-1"
	if _, err := scan(t, newTestScanner(t, cfg), accountOf(f, acctA)); err != nil {
		t.Fatal(err)
	}
	if c := f.AssumeCalls(); len(c) != 1 || c[0].Session != "qm-nightly" {
		t.Errorf("AssumeRole calls %+v, want one with session qm-nightly", c)
	}
	for _, api := range []string{"sts:AssumeRole", "ec2:DescribeRegions", "s3:ListAllMyBuckets"} {
		account := acctA
		if api == "sts:AssumeRole" {
			account = callerAccount
		}
		if f.CallsOf(api, account, "eu-west-1") == 0 || f.CallsOf(api, account, "us-east-1") != 0 {
			t.Errorf("%s not called in the home region eu-west-1 only", api)
		}
	}
}
