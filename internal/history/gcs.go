package history

import (
	"context"
	"errors"
	"fmt"
	"io"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// gcsBucket keeps runs as objects of a Cloud Storage bucket under a prefix.
// An upload replaces an object atomically.
type gcsBucket struct {
	h              *storage.BucketHandle
	bucket, prefix string
}

func newGCSBucket(ctx context.Context, bucket, prefix string, opts Options) (*gcsBucket, error) {
	var o []option.ClientOption
	if opts.Endpoint != "" {
		o = append(o, option.WithEndpoint(opts.Endpoint))
	}
	if opts.Anonymous {
		o = append(o, option.WithoutAuthentication())
	}
	if opts.HTTPClient != nil {
		o = append(o, option.WithHTTPClient(opts.HTTPClient))
	}
	client, err := storage.NewClient(ctx, o...)
	if err != nil {
		return nil, fmt.Errorf("history: creating the Cloud Storage client: %w", err)
	}
	return &gcsBucket{h: client.Bucket(bucket), bucket: bucket, prefix: keyPrefix(prefix)}, nil
}

func (b *gcsBucket) location(name string) string {
	return "gs://" + b.bucket + "/" + b.prefix + name
}

func (b *gcsBucket) list(ctx context.Context) ([]string, error) {
	var names []string
	it := b.h.Objects(ctx, &storage.Query{Prefix: b.prefix, Delimiter: "/"})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if n, ok := direct(o.Name, b.prefix); ok {
			names = append(names, n)
		}
	}
}

func (b *gcsBucket) read(ctx context.Context, name string) ([]byte, error) {
	r, err := b.h.Object(b.prefix + name).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, fmt.Errorf("%w: %w", errNotExist, err)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, maxReport))
}

func (b *gcsBucket) write(ctx context.Context, name string, data []byte) error {
	w := b.h.Object(b.prefix + name).NewWriter(ctx)
	w.ContentType = "application/gzip"
	w.ChunkSize = 0 // one request: a report is small
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func (b *gcsBucket) remove(ctx context.Context, name string) error {
	err := b.h.Object(b.prefix + name).Delete(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil
	}
	return err
}
