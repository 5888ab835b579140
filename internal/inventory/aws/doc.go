// Package aws is the inventory source of AWS accounts: it implements
// inventory.Scanner on aws-sdk-go-v2 and emits the normalised Resource
// records the auditor checks: EC2 instances (with their GPUs from the
// costing catalog), EBS volumes and snapshots, S3 buckets and KMS keys, with
// the encryption, attachment and public-access facts the compliance and
// waste checks read (DESIGN §2).
//
// Memory is bounded by the accounts in flight, not by the organisation:
// each account gets ONE aws.Config, entered by STS AssumeRole with its
// credentials cached for the account's scan, and the regional clients are
// derived from that config (they share its credentials cache and the one
// HTTP client of the whole scanner). CloudQuery needed 25 GB for 10,000
// accounts because it built a client with its own credentials per account ×
// region (cloudquery#10452); here nothing is kept once an account is done.
//
// Throttling is the normal state of a large organisation, so every client
// retries it with exponential backoff and full jitter within a bounded total
// (Retry, docs/inventory-aws.md), and with the SDK's adaptive rate limiter
// slows down after a throttle instead of hammering. An API that still fails
// (throttled past the bound, denied) fails the whole account with an
// APIError naming the account, region and API: a silently missing region
// would read as a region without findings.
//
// Organizations discovery (Scanner.Accounts) turns the accounts of the
// caller's organisation into inventory.Account entries with the role to
// assume in each. Credentials and settings come from the caller (cmd builds
// Config from its flags); the package reads no environment itself, except
// through config.LoadDefaultConfig when the caller asks for it (LoadDefault).
//
// The tests run the real SDK clients against httptest servers speaking each
// service's protocol (fake_test.go), and S3 also against a real MinIO the
// tests start (minio_test.go, built with the minio tag: make test-minio),
// which settles bucket locations, per-region signing, default encryption
// under a KMS key and versioning. MinIO implements no public access block,
// so an httptest proxy in front of it answers that call
// (docs/inventory-aws.md, Tests).
package aws
