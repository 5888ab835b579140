//go:build minio

package history

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/quartermaster-io/quartermaster/internal/miniotest"
)

// The S3 store against a real S3 server: MinIO, started by the test (make
// test-minio builds it; the test fails without it). The store signs its
// requests with credentials from the SDK's default chain, here the
// environment, as an operator pointing --history at MinIO would give them,
// for the server's region (eu-west-1: a request signed for another is
// refused). Two buckets: a plain one, and one with SSE-KMS default
// encryption under MinIO's built-in KMS and versioning on, the settings a
// bucket of audit history is likely to have (objects then carry no MD5
// ETag, and a delete leaves a delete marker that List must not show).
// httptest's S3 (fakes_test.go) still covers what a real server cannot be
// made to do: hang mid-request.

const minioKMSKey = "qm-history-key"

// TestStoresOnMinIO runs the Store contract (TestStores's cases) on MinIO.
func TestStoresOnMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{Region: "eu-west-1", KMSKey: minioKMSKey})
	cl := srv.Client()
	for _, bucket := range []string{"runs", "runs-kms"} {
		if _, err := cl.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(srv.Region)},
		}); err != nil {
			t.Fatalf("creating %s: %v", bucket, err)
		}
	}
	if _, err := cl.PutBucketEncryption(t.Context(), &s3.PutBucketEncryptionInput{
		Bucket: aws.String("runs-kms"),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(minioKMSKey)},
		}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
		Bucket: aws.String("runs-kms"), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}

	clock := func() time.Time { return storesNow }
	var n atomic.Int64
	open := func(bucket, region string) func(*testing.T) harness {
		return func(t *testing.T) harness {
			// The default chain's environment credentials, and nothing
			// of the developer's own AWS settings.
			t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
			t.Setenv("AWS_SESSION_TOKEN", "")
			t.Setenv("AWS_PROFILE", "")
			t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
			prefix := fmt.Sprintf("qm/h%d", n.Add(1))
			s, err := Open(t.Context(), "s3://"+bucket+"/"+prefix, Options{Endpoint: srv.URL, Region: region, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			plant := plantVia(t, s)
			plant("older/"+objectName("nested", t0), []byte("not ours"))
			// Beside the prefix, sharing its first characters.
			if _, err := cl.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket),
				Key: aws.String(prefix + "-" + objectName("foreign", t0)), Body: strings.NewReader("not ours")}); err != nil {
				t.Fatal(err)
			}
			return harness{store: s, plant: plant}
		}
	}
	testStores(t, map[string]func(*testing.T) harness{
		"minio":                   open("runs", srv.Region),
		"minio-sse-kms-versioned": open("runs-kms", srv.Region),
		// The auditor's region (AWS_REGION, say that of the cluster it
		// runs in) is not the bucket's: the store learns the bucket's
		// from S3's first answer and signs for it from then on.
		"minio-other-region": open("runs", "us-east-1"),
	})

	// The objects of runs-kms really are encrypted under the key, and a
	// pruned run left a delete marker behind (versioning kept it): the
	// store worked through both rather than around them.
	out, err := cl.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String("runs-kms")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DeleteMarkers) == 0 {
		t.Error("no delete markers in the versioned bucket after the prune cases")
	}
	var key *string
	for _, v := range out.Versions {
		if strings.HasSuffix(aws.ToString(v.Key), ".json.gz") && aws.ToBool(v.IsLatest) {
			key = v.Key
			break
		}
	}
	if key == nil {
		t.Fatal("no current run object in runs-kms")
	}
	head, err := cl.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("runs-kms"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || !strings.HasSuffix(aws.ToString(head.SSEKMSKeyId), minioKMSKey) {
		t.Errorf("%s encrypted with %q under %q, want aws:kms under %s", aws.ToString(key), head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId), minioKMSKey)
	}
}
