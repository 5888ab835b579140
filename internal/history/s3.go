package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Bucket keeps runs as objects of an S3 bucket (or an S3-compatible
// server) under a key prefix. A PutObject replaces an object atomically.
type s3Bucket struct {
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

func (b *s3Bucket) location(name string) string {
	return "s3://" + b.bucket + "/" + b.prefix + name
}

func (b *s3Bucket) list(ctx context.Context) ([]string, error) {
	var names []string
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.bucket), Prefix: aws.String(b.prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			if n, ok := direct(aws.ToString(o.Key), b.prefix); ok {
				names = append(names, n)
			}
		}
	}
	return names, nil
}

func (b *s3Bucket) read(ctx context.Context, name string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name)})
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
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name),
		Body: bytes.NewReader(data), ContentType: aws.String("application/gzip"),
	})
	return err
}

func (b *s3Bucket) remove(ctx context.Context, name string) error {
	// DeleteObject succeeds on a missing key.
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name)})
	return err
}
