package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// s3Bucket keeps runs as objects of an S3 bucket (or an S3-compatible
// server) under a key prefix. A PutObject replaces an object atomically.
//
// S3 serves a bucket only to requests signed for the bucket's region, and
// the region the store starts with (Options.Region, else the SDK's chain:
// AWS_REGION, often the cluster's) need not be it. S3 says which it is in
// the x-amz-bucket-region header of its refusal (a 301 PermanentRedirect,
// or a 400 AuthorizationHeaderMalformed), as MinIO does too; the store then
// switches to that region for good and repeats the call once. The SDK
// itself follows no such redirect.
type s3Bucket struct {
	mu             sync.Mutex
	client         *s3.Client
	bucket, prefix string
}

func newS3Bucket(ctx context.Context, bucket, prefix string, opts Options) (*s3Bucket, error) {
	var load []func(*config.LoadOptions) error
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.HTTPClient != nil {
		load = append(load, config.WithHTTPClient(opts.HTTPClient))
	}
	if opts.Anonymous {
		load = append(load, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("history: loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// An object stored without a checksum (an older MinIO, another
		// S3-compatible server) is read unchecked, as the gzip CRC still
		// checks it; the SDK would log a DEBUG line on stderr for each
		// read.
		o.DisableLogOutputChecksumValidationSkipped = true
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
			o.UsePathStyle = true
		}
	})
	return &s3Bucket{client: client, bucket: bucket, prefix: keyPrefix(prefix)}, nil
}

// do runs call with the bucket's client and, when S3 answers that the
// bucket lives in another region, once more with a client of that region,
// which every later call then uses.
func (b *s3Bucket) do(call func(*s3.Client) error) error {
	b.mu.Lock()
	client := b.client
	b.mu.Unlock()
	err := call(client)
	region := bucketRegion(err)
	if region == "" || region == client.Options().Region {
		return err
	}
	b.mu.Lock()
	if b.client == client {
		b.client = s3.New(client.Options(), func(o *s3.Options) { o.Region = region })
	}
	client = b.client
	b.mu.Unlock()
	return call(client)
}

// bucketRegion is the region S3 names in a refusal of a request signed for
// the wrong one; empty for any other outcome.
func bucketRegion(err error) string {
	re, ok := errors.AsType[*smithyhttp.ResponseError](err)
	if !ok || re.Response == nil {
		return ""
	}
	switch re.HTTPStatusCode() {
	case http.StatusMovedPermanently, http.StatusBadRequest:
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func (b *s3Bucket) location(name string) string {
	return "s3://" + b.bucket + "/" + b.prefix + name
}

func (b *s3Bucket) list(ctx context.Context) ([]string, error) {
	var names []string
	err := b.do(func(client *s3.Client) error {
		names = nil
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{
			Bucket: aws.String(b.bucket), Prefix: aws.String(b.prefix), Delimiter: aws.String("/"),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, o := range page.Contents {
				if n, ok := direct(aws.ToString(o.Key), b.prefix); ok {
					names = append(names, n)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

func (b *s3Bucket) read(ctx context.Context, name string) ([]byte, error) {
	var out *s3.GetObjectOutput
	err := b.do(func(client *s3.Client) (err error) {
		out, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name)})
		return err
	})
	if err != nil {
		if _, ok := errors.AsType[*types.NoSuchKey](err); ok {
			return nil, fmt.Errorf("%w: %w", errNotExist, err)
		}
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, maxReport))
}

func (b *s3Bucket) write(ctx context.Context, name string, data []byte) error {
	return b.do(func(client *s3.Client) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name),
			Body: bytes.NewReader(data), ContentType: aws.String("application/gzip"),
		})
		return err
	})
}

func (b *s3Bucket) remove(ctx context.Context, name string) error {
	// DeleteObject succeeds on a missing key.
	return b.do(func(client *s3.Client) error {
		_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name)})
		return err
	})
}
