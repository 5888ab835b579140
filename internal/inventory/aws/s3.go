package aws

import (
	"context"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// s3Clients holds an account's S3 client per region: a bucket's
// configuration is only served from its own region, and an account's
// buckets are in a handful of them.
type s3Clients struct {
	acc      *account
	mu       sync.Mutex
	byRegion map[string]*s3.Client
}

func (c *s3Clients) get(region string) *s3.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.byRegion[region]; ok {
		return cl
	}
	cl := s3.NewFromConfig(c.acc.cfg, func(o *s3.Options) {
		o.Region = region
		setEndpoint(&o.BaseEndpoint, c.acc.ep.S3)
		o.UsePathStyle = c.acc.ep.S3PathStyle
	})
	c.acc.clients.Add(1)
	c.byRegion[region] = cl
	return cl
}

// listBuckets lists the account's buckets, of every region, from the home
// region.
func (a *account) listBuckets(ctx context.Context) ([]s3types.Bucket, error) {
	cl := s3.NewFromConfig(a.cfg, func(o *s3.Options) {
		setEndpoint(&o.BaseEndpoint, a.ep.S3)
		o.UsePathStyle = a.ep.S3PathStyle
	})
	a.clients.Add(1)
	var out []s3types.Bucket
	p := s3.NewListBucketsPaginator(cl, &s3.ListBucketsInput{MaxBuckets: awssdk.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, a.apiErr(a.region, "s3:ListAllMyBuckets", "", err)
		}
		out = append(out, page.Buckets...)
	}
	return out, nil
}

// bucketRegion asks where a bucket lives. S3 answers an empty constraint
// for us-east-1 and "EU" for buckets made in eu-west-1 before regions had
// names.
func (a *account) bucketRegion(ctx context.Context, cl *s3.Client, b s3types.Bucket) (string, error) {
	name := awssdk.ToString(b.Name)
	out, err := cl.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b.Name})
	if err != nil {
		return "", a.apiErr(a.region, "s3:GetBucketLocation", name, err)
	}
	switch c := string(out.LocationConstraint); c {
	case "":
		return "us-east-1", nil
	case "EU":
		return "eu-west-1", nil
	default:
		return c, nil
	}
}

// scanBucket reads a bucket's default encryption, public access block,
// versioning and tags. Each "no configuration" answer is a fact, not an
// error: no public access block means nothing is blocked at the bucket.
func (a *account) scanBucket(ctx context.Context, cl *s3.Client, b s3types.Bucket, region string) error {
	name := awssdk.ToString(b.Name)
	bucket := &inventory.Bucket{Location: region}

	enc, err := cl.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b.Name})
	switch {
	case errorCode(err) == "ServerSideEncryptionConfigurationNotFoundError":
		// Only buckets from before January 2023 can lack it; since,
		// S3 encrypts every bucket with SSE-S3 by default.
	case err != nil:
		return a.apiErr(region, "s3:GetEncryptionConfiguration", name, err)
	default:
		if bucket.Encryption, err = a.bucketEncryption(ctx, region, enc.ServerSideEncryptionConfiguration); err != nil {
			return err
		}
	}

	pab, err := cl.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b.Name})
	switch {
	case errorCode(err) == "NoSuchPublicAccessBlockConfiguration":
	case err != nil:
		return a.apiErr(region, "s3:GetBucketPublicAccessBlock", name, err)
	default:
		// Blocked means all four: with any one off, some route to
		// public access (an ACL or a policy) stays open.
		c := pab.PublicAccessBlockConfiguration
		bucket.PublicAccessBlocked = c != nil && awssdk.ToBool(c.BlockPublicAcls) && awssdk.ToBool(c.IgnorePublicAcls) &&
			awssdk.ToBool(c.BlockPublicPolicy) && awssdk.ToBool(c.RestrictPublicBuckets)
	}

	ver, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b.Name})
	if err != nil {
		return a.apiErr(region, "s3:GetBucketVersioning", name, err)
	}
	// Suspended versioning keeps old versions but makes no new ones:
	// no protection for what is written next.
	bucket.Versioning = ver.Status == s3types.BucketVersioningStatusEnabled

	var labels map[string]string
	tagging, err := cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b.Name})
	switch {
	case errorCode(err) == "NoSuchTagSet":
	case err != nil:
		return a.apiErr(region, "s3:GetBucketTagging", name, err)
	case len(tagging.TagSet) > 0:
		labels = make(map[string]string, len(tagging.TagSet))
		for _, t := range tagging.TagSet {
			labels[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
		}
	}
	return a.send(&inventory.Resource{
		Kind: inventory.KindBucket, ID: name, Name: name, Region: region, Labels: labels,
		Created: awssdk.ToTime(b.CreationDate), Bucket: bucket,
	})
}

// bucketEncryption reads the default encryption rule: SSE-S3 (AES256) and
// SSE-KMS under the aws/s3 key are provider-managed; SSE-KMS (or DSSE-KMS)
// under any other key is the customer's.
func (a *account) bucketEncryption(ctx context.Context, region string, c *s3types.ServerSideEncryptionConfiguration) (inventory.Encryption, error) {
	if c == nil {
		return inventory.Encryption{}, nil
	}
	for _, rule := range c.Rules {
		d := rule.ApplyServerSideEncryptionByDefault
		if d == nil {
			continue
		}
		switch d.SSEAlgorithm {
		case s3types.ServerSideEncryptionAwsKms, s3types.ServerSideEncryptionAwsKmsDsse:
			key := awssdk.ToString(d.KMSMasterKeyID)
			if key == "" {
				return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}, nil
			}
			return a.keys.classify(ctx, a, nil, region, key)
		default:
			return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}, nil
		}
	}
	return inventory.Encryption{}, nil
}
