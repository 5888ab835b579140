package history

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Options configure the object stores. Credentials come from each SDK's
// default chain (environment, shared config files, workload identity,
// instance metadata), except an Azure shared key the caller passes; the
// store itself reads no environment variable.
type Options struct {
	// Endpoint replaces the service's endpoint: a MinIO or S3-compatible
	// server (path-style requests are used then), a fake-gcs-server
	// ("http://host:port/storage/v1/"), Azurite
	// ("http://127.0.0.1:10000/devstoreaccount1"), or a test server. For
	// Azure it is the whole service URL, which normally is
	// https://ACCOUNT.blob.core.windows.net/.
	Endpoint string
	// Anonymous sends unsigned requests, for emulators and tests.
	Anonymous bool
	// AzureSharedKey, when set, signs Azure requests with the account's
	// shared key instead of DefaultAzureCredential: for Azurite, and for
	// accounts that allow shared keys. The caller builds it
	// (azblob.NewSharedKeyCredential from a mounted Secret, say); the store
	// never reads the environment for it.
	AzureSharedKey *azblob.SharedKeyCredential
	// Region is the region S3 requests are signed for first: this one,
	// else the default chain's (AWS_REGION), else us-east-1. When S3
	// answers that the bucket is in another region (x-amz-bucket-region
	// on its refusal), the store switches to that one and repeats the call.
	Region string
	// HTTPClient, when set, carries every request.
	HTTPClient *http.Client
	// Now is the clock that retention by age reads (default time.Now).
	Now func() time.Time
}

// Open opens the store a URL names:
//
//	dir:///var/lib/quartermaster/history     a directory (created if missing)
//	s3://bucket/prefix                       Amazon S3 or an S3-compatible server
//	gs://bucket/prefix                       Google Cloud Storage
//	azblob://account/container/prefix        Azure Blob Storage
//
// The prefix is optional. Open checks the URL and builds the client; it
// does not contact the service, so a wrong bucket or missing permission
// shows on the first call. Cloud Storage's client looks for credentials
// when it is built, so for gs:// missing credentials fail Open itself.
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("history: reading store URL %q: %w", rawURL, err)
	}
	bad := func(why string) error {
		return fmt.Errorf("history: store URL %q: %s; want dir:///path, s3://bucket/prefix, gs://bucket/prefix or azblob://account/container/prefix", rawURL, why)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, bad("it has a query, fragment or user, which the history does not read")
	}
	prefix := strings.Trim(u.Path, "/")
	var b bucket
	switch u.Scheme {
	case "dir":
		if u.Host != "" || u.Path == "" {
			return nil, bad("a directory URL is dir:// followed by an absolute path (three slashes)")
		}
		b, err = newDirBucket(u.Path)
	case "s3":
		if u.Host == "" {
			return nil, bad("no bucket")
		}
		b, err = newS3Bucket(ctx, u.Host, prefix, opts)
	case "gs":
		if u.Host == "" {
			return nil, bad("no bucket")
		}
		b, err = newGCSBucket(ctx, u.Host, prefix, opts)
	case "azblob":
		container, p, _ := strings.Cut(prefix, "/")
		if u.Host == "" || container == "" {
			return nil, bad("an Azure URL names the storage account and the container")
		}
		b, err = newAzureBucket(u.Host, container, p, opts)
	default:
		return nil, bad("unknown scheme")
	}
	if err != nil {
		return nil, err
	}
	return &store{b: b, now: now}, nil
}

// keyPrefix turns a URL's path into an object key prefix: empty, or ending
// in one slash.
func keyPrefix(p string) string {
	if p == "" {
		return ""
	}
	return p + "/"
}

// direct returns key's name under prefix when it is directly under it (no
// further slash), for listings that return deeper keys too.
func direct(key, prefix string) (string, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}
