// Package miniotest starts a real MinIO server for the tests of the S3
// adapters: internal/inventory/aws's bucket scan and internal/history's S3
// store talk to it through the real aws-sdk-go-v2, so that what S3 itself
// decides (request signing per region, the location a bucket reports, the
// "no configuration" error codes, default encryption under a KMS key,
// versioning, object checksums) is checked against a server that implements
// it rather than against our reading of the API reference.
//
// It plays no part in the flow of an admission or an audit: only tests
// import it, and only tests built with the minio tag (make test-minio), since
// the server is a tool built once per version by hack/tools.sh
// (make tools-minio) and linked into $QM_TOOLS_BIN. A test that starts one
// fails, never skips, when the binary is missing.
//
// One server has one region (MINIO_SITE_REGION): every bucket it holds is in
// that region, it answers GetBucketLocation with its name (us-east-1 too,
// where S3 answers an empty constraint), and it refuses a bucket's calls
// signed for another region, as S3 does, naming its own in the
// x-amz-bucket-region header (ListBuckets and GetBucketLocation it answers
// whatever the region, as S3 does). A test that needs
// buckets in two regions starts two servers. With Options.KMSKey it runs
// MinIO's built-in KMS with that one key (MINIO_KMS_SECRET_KEY), enough for
// SSE-KMS default bucket encryption to round-trip.
//
// What MinIO does not implement stays on the httptest fakes of each
// package: the public access block (PutPublicAccessBlock and
// GetPublicAccessBlock answer NotImplemented), AWS KMS's own API
// (DescribeKey, ListKeys), and the legacy "EU" location constraint (one
// server's region is both what it reports and what it wants signatures
// for, while S3 reports EU for buckets it wants signed for eu-west-1).
//
// MinIO is AGPLv3: it is built from the Go module proxy at test time as a
// separate program and run as one; none of its code is vendored, copied or
// linked into Quartermaster.
package miniotest
