//go:build minio

package aws

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/fleettest"
	"github.com/quartermaster-io/quartermaster/internal/miniotest"
)

// The S3 half of the scan against a real S3 server: MinIO, started by the
// test (make test-minio builds it; the test fails without it). What MinIO
// decides here is what the httptest fake of fake_test.go only asserts: the
// location a bucket reports (MINIO_SITE_REGION), that
// a bucket's calls must be signed for its region, the error codes of "no
// encryption configuration" and "no tags", SSE-S3 and SSE-KMS default
// encryption (with MinIO's built-in KMS, MINIO_KMS_SECRET_KEY) and
// versioning enabled or suspended, each set through the SDK as a user would.
//
// MinIO implements no public access block (it answers NotImplemented), so a
// small httptest proxy in front of it answers GetPublicAccessBlock itself
// and passes everything else through unchanged, signature and all. KMS's
// own API (DescribeKey, which tells a customer's key from AWS's) and EC2
// stay on the fakes of fake_test.go.

// minioKey is the one key of the eu-west-1 server's built-in KMS; the fake
// KMS knows it as a customer-managed key of the caller's account.
const minioKey = "qm-bucket-key"

// pabProxy answers GetPublicAccessBlock for the buckets in blocked (the four
// flags) and NoSuchPublicAccessBlockConfiguration for the others, as S3
// does, and proxies every other request to MinIO. It records the regions
// each kind of call was signed for. It can also delete a bucket in
// MinIO just before passing on a given call about it (deleteOn: bucket ->
// the call's query key, e.g. "location"), as a user deleting it during the
// scan would.
type pabProxy struct {
	*httptest.Server
	blocked map[string][4]bool

	mu      sync.Mutex
	regions map[string][]string // call (ListBuckets, or the subresource: location, encryption...) -> signing regions
	deleted map[string]bool
}

func newPABProxy(t *testing.T, srv *miniotest.Server, blocked map[string][4]bool, deleteOn map[string]string) *pabProxy {
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &pabProxy{blocked: blocked, regions: map[string][]string{}, deleted: map[string]bool{}}
	deleteBucket := func(r *http.Request, bucket string) {
		q, ok := deleteOn[bucket]
		if !ok || !r.URL.Query().Has(q) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.deleted[bucket] {
			return
		}
		p.deleted[bucket] = true
		if _, err := srv.Client().DeleteBucket(r.Context(), &s3.DeleteBucketInput{Bucket: awssdk.String(bucket)}); err != nil {
			t.Errorf("deleting %s: %v", bucket, err)
		}
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		// The signature covers the Host header: MinIO must see the one
		// the SDK signed, the proxy's.
		r.Out.Host = r.In.Host
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket := strings.Trim(r.URL.Path, "/")
		p.record(r, bucket)
		deleteBucket(r, bucket)
		if !r.URL.Query().Has("publicAccessBlock") {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		b, ok := blocked[bucket]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchPublicAccessBlockConfiguration</Code><Message>The public access block configuration was not found</Message><BucketName>%s</BucketName></Error>`, bucket)
			return
		}
		fmt.Fprintf(w, `<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>%t</BlockPublicAcls><IgnorePublicAcls>%t</IgnorePublicAcls><BlockPublicPolicy>%t</BlockPublicPolicy><RestrictPublicBuckets>%t</RestrictPublicBuckets></PublicAccessBlockConfiguration>`,
			b[0], b[1], b[2], b[3])
	}))
	t.Cleanup(p.Close)
	return p
}

// record notes the region a call was signed for, under the call's kind.
func (p *pabProxy) record(r *http.Request, bucket string) {
	call := "ListBuckets"
	if bucket != "" {
		call = "?"
		for _, sub := range []string{"location", "encryption", "publicAccessBlock", "versioning", "tagging"} {
			if r.URL.Query().Has(sub) {
				call = sub
			}
		}
	}
	region := "unsigned"
	if m := fleettest.SigV4.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		region = m[2]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.regions[call], region) {
		p.regions[call] = append(p.regions[call], region)
	}
}

// signedFor is the regions each kind of call was signed for.
func (p *pabProxy) signedFor() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.regions)
}

// minioBucket is one bucket the test makes through the SDK.
type minioBucket struct {
	name string
	// sse is the default encryption: "", AES256 or aws:kms (under
	// kmsKey, which may be empty).
	sse    s3types.ServerSideEncryption
	kmsKey string
	// versioning is "", Enabled, or Suspended (enabled, then suspended).
	versioning s3types.BucketVersioningStatus
	tags       map[string]string
}

// makeBuckets creates the buckets on srv as a user would, with the SDK.
func makeBuckets(t *testing.T, srv *miniotest.Server, buckets []minioBucket) {
	t.Helper()
	ctx := t.Context()
	cl := srv.Client()
	for _, b := range buckets {
		in := &s3.CreateBucketInput{Bucket: awssdk.String(b.name)}
		if srv.Region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(srv.Region)}
		}
		if _, err := cl.CreateBucket(ctx, in); err != nil {
			t.Fatalf("creating %s: %v", b.name, err)
		}
		if b.sse != "" {
			def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: b.sse}
			if b.kmsKey != "" {
				def.KMSMasterKeyID = awssdk.String(b.kmsKey)
			}
			if _, err := cl.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
				Bucket: awssdk.String(b.name),
				ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
					Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: def}},
				},
			}); err != nil {
				t.Fatalf("setting %s's encryption: %v", b.name, err)
			}
		}
		statuses := map[s3types.BucketVersioningStatus][]s3types.BucketVersioningStatus{
			s3types.BucketVersioningStatusEnabled:   {s3types.BucketVersioningStatusEnabled},
			s3types.BucketVersioningStatusSuspended: {s3types.BucketVersioningStatusEnabled, s3types.BucketVersioningStatusSuspended},
		}[b.versioning]
		for _, st := range statuses {
			if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
				Bucket: awssdk.String(b.name), VersioningConfiguration: &s3types.VersioningConfiguration{Status: st},
			}); err != nil {
				t.Fatalf("setting %s's versioning to %s: %v", b.name, st, err)
			}
		}
		if len(b.tags) > 0 {
			var set []s3types.Tag
			for k, v := range b.tags {
				set = append(set, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
			}
			if _, err := cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
				Bucket: awssdk.String(b.name), Tagging: &s3types.Tagging{TagSet: set},
			}); err != nil {
				t.Fatalf("tagging %s: %v", b.name, err)
			}
		}
	}
}

// TestScanBucketsOnMinIO scans the buckets of two MinIO servers, one per
// region, each made with the SDK in every configuration the bucket record
// distinguishes, and checks every record.
func TestScanBucketsOnMinIO(t *testing.T) {
	eu := miniotest.Start(t, miniotest.Options{Region: "eu-west-1", KMSKey: minioKey, AccessKey: callerKey})
	us := miniotest.Start(t, miniotest.Options{Region: "us-east-1", KMSKey: minioKey, AccessKey: callerKey})

	// The fake KMS knows the MinIO key as the caller's customer key; EC2
	// has nothing in either region.
	f := newFakeAWS(t)
	f.Accounts[callerAccount] = &fakeAccount{Regions: map[string]*fakeRegion{
		"eu-west-1": {Keys: []fakeKey{{ID: minioKey, Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT",
			Origin: "AWS_KMS", Rotation: true, Created: t0}}},
		"us-east-1": {},
	}}
	keyARNeu := keyARN("eu-west-1", callerAccount, minioKey)
	customer := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: keyARNeu}
	provider := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	allBlocked, oneOpen := [4]bool{true, true, true, true}, [4]bool{true, true, false, true}

	type want struct {
		bucket inventory.Bucket
		labels map[string]string
	}
	tests := map[string]struct {
		srv *miniotest.Server
		// home is the scanner's home region (Config.Region), where
		// ListBuckets and GetBucketLocation are signed.
		home     string
		buckets  []minioBucket
		blocked  map[string][4]bool
		deleteOn map[string]string
		want     map[string]want
	}{
		// The scanner's home region is us-east-1: it lists and locates
		// the buckets signed for us-east-1 (S3, and MinIO, answer those
		// from any region) and must sign every other call for eu-west-1,
		// which MinIO refuses otherwise.
		"eu-west-1": {
			srv: eu, home: "us-east-1",
			buckets: []minioBucket{
				{name: "plain"},
				{name: "sse-s3", sse: s3types.ServerSideEncryptionAes256, versioning: s3types.BucketVersioningStatusEnabled,
					tags: map[string]string{"team": "vision", "cost-center": "ml-42"}},
				{name: "sse-kms", sse: s3types.ServerSideEncryptionAwsKms, kmsKey: minioKey, versioning: s3types.BucketVersioningStatusEnabled},
				{name: "kms-suspended", sse: s3types.ServerSideEncryptionAwsKms, kmsKey: minioKey, versioning: s3types.BucketVersioningStatusSuspended},
				{name: "gone-early"}, {name: "gone-late", sse: s3types.ServerSideEncryptionAes256},
			},
			blocked: map[string][4]bool{"sse-kms": allBlocked, "kms-suspended": oneOpen},
			// Deleted after ListBuckets, before its location was asked,
			// and between two of its configuration calls: neither is in
			// the inventory, and neither fails the account.
			deleteOn: map[string]string{"gone-early": "location", "gone-late": "versioning"},
			want: map[string]want{
				"plain":  {bucket: inventory.Bucket{Location: "eu-west-1"}},
				"sse-s3": {bucket: inventory.Bucket{Location: "eu-west-1", Encryption: provider, Versioning: true}, labels: map[string]string{"team": "vision", "cost-center": "ml-42"}},
				"sse-kms": {bucket: inventory.Bucket{Location: "eu-west-1", Encryption: customer, Versioning: true,
					PublicAccessBlocked: true}},
				// Suspended versioning protects nothing written next;
				// three blocks of four leave a way open.
				"kms-suspended": {bucket: inventory.Bucket{Location: "eu-west-1", Encryption: customer}},
			},
		},
		// MinIO names us-east-1 (S3 answers an empty constraint for it,
		// which the fake covers); the scanner at home in eu-west-1
		// signs the bucket's calls for us-east-1 all the same.
		"us-east-1": {
			srv: us, home: "eu-west-1",
			buckets: []minioBucket{{name: "us-plain"}, {name: "us-sse-s3", sse: s3types.ServerSideEncryptionAes256}},
			blocked: map[string][4]bool{"us-plain": allBlocked},
			want: map[string]want{
				"us-plain":  {bucket: inventory.Bucket{Location: "us-east-1", PublicAccessBlocked: true}},
				"us-sse-s3": {bucket: inventory.Bucket{Location: "us-east-1", Encryption: provider}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			makeBuckets(t, tc.srv, tc.buckets)
			proxy := newPABProxy(t, tc.srv, tc.blocked, tc.deleteOn)
			cfg := testConfig(f)
			cfg.AWS.Credentials = tc.srv.Credentials()
			cfg.Endpoints.S3 = proxy.URL
			cfg.Region = tc.home
			s := newTestScanner(t, cfg)

			start := time.Now().Add(-time.Minute)
			got, err := scan(t, s, inventory.Account{Cloud: inventory.CloudAWS, ID: callerAccount, Regions: []string{"eu-west-1", "us-east-1"}})
			if err != nil {
				t.Fatal(err)
			}
			var wantRs []*inventory.Resource
			for bucket, w := range tc.want {
				b := w.bucket
				wantRs = append(wantRs, &inventory.Resource{
					Kind: inventory.KindBucket, ID: bucket, Name: bucket, Account: callerAccount, Cloud: inventory.CloudAWS,
					Region: b.Location, Labels: w.labels, Observed: observed, Bucket: &b,
				})
			}
			sortResources(wantRs)
			var buckets []*inventory.Resource
			for _, r := range got {
				if r.Kind == inventory.KindBucket {
					buckets = append(buckets, r)
					// MinIO stamps its own creation time.
					if r.Created.Before(start) || r.Created.After(time.Now().Add(time.Minute)) {
						t.Errorf("%s: created %s, want about now", r.ID, r.Created)
					}
				}
			}
			if d := cmp.Diff(wantRs, buckets, cmpopts.IgnoreFields(inventory.Resource{}, "Created")); d != "" {
				t.Errorf("buckets (-want +got):\n%s", d)
			}
			// The account-wide calls were signed for the home region,
			// every call about one bucket for the bucket's (MinIO
			// refuses any other; the proxy answers the public access
			// block, so that one is checked here).
			home, bucket := []string{tc.home}, []string{tc.srv.Region}
			want := map[string][]string{"ListBuckets": home, "location": home, "encryption": bucket,
				"publicAccessBlock": bucket, "versioning": bucket, "tagging": bucket}
			if d := cmp.Diff(want, proxy.signedFor()); d != "" {
				t.Errorf("signing regions by call (-want +got):\n%s", d)
			}
		})
	}
}

// TestMinIOEncryptsUnderTheDefaultKey checks the other half of the SSE-KMS
// round trip: an object written with no encryption header into a bucket
// whose default is SSE-KMS is stored under the bucket's key, as the scan
// reports. It guards the setup above: a server that kept the configuration
// but ignored it would make the scan's answer meaningless.
func TestMinIOEncryptsUnderTheDefaultKey(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{Region: "eu-west-1", KMSKey: minioKey})
	makeBuckets(t, srv, []minioBucket{{name: "data", sse: s3types.ServerSideEncryptionAwsKms, kmsKey: minioKey}})
	ctx := context.Background()
	cl := srv.Client()
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String("data"), Key: awssdk.String("o"),
		Body: strings.NewReader("secret")}); err != nil {
		t.Fatal(err)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String("data"), Key: awssdk.String("o")})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || !strings.HasSuffix(awssdk.ToString(head.SSEKMSKeyId), minioKey) {
		t.Errorf("object encrypted with %q under %q, want aws:kms under %s", head.ServerSideEncryption, awssdk.ToString(head.SSEKMSKeyId), minioKey)
	}
}
