package history

import (
	"context"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// azureBucket keeps runs as block blobs of an Azure Storage container under
// a prefix. A single Put Blob replaces a blob atomically.
type azureBucket struct {
	client                     *azblob.Client
	account, container, prefix string
}

func newAzureBucket(account, container, prefix string, opts Options) (*azureBucket, error) {
	service := "https://" + account + ".blob.core.windows.net/"
	if opts.Endpoint != "" {
		service = opts.Endpoint
	}
	co := &azblob.ClientOptions{}
	if opts.HTTPClient != nil {
		co.Transport = opts.HTTPClient
	}
	var (
		client *azblob.Client
		err    error
	)
	switch {
	case opts.AzureSharedKey != nil:
		client, err = azblob.NewClientWithSharedKeyCredential(service, opts.AzureSharedKey, co)
	case opts.Anonymous:
		client, err = azblob.NewClientWithNoCredential(service, co)
	default:
		var cred azcore.TokenCredential
		cred, err = azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("history: loading the Azure credential: %w", err)
		}
		client, err = azblob.NewClient(service, cred, co)
	}
	if err != nil {
		return nil, fmt.Errorf("history: creating the Azure Blob client for %s: %w", service, err)
	}
	return &azureBucket{client: client, account: account, container: container, prefix: keyPrefix(prefix)}, nil
}

func (b *azureBucket) location(name string) string {
	return "azblob://" + b.account + "/" + b.container + "/" + b.prefix + name
}

func (b *azureBucket) list(ctx context.Context) ([]string, error) {
	var names []string
	p := b.client.NewListBlobsFlatPager(b.container, &azblob.ListBlobsFlatOptions{Prefix: &b.prefix})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil {
				continue
			}
			if n, ok := direct(*it.Name, b.prefix); ok {
				names = append(names, n)
			}
		}
	}
	return names, nil
}

func (b *azureBucket) read(ctx context.Context, name string) ([]byte, error) {
	resp, err := b.client.DownloadStream(ctx, b.container, b.prefix+name, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, fmt.Errorf("%w: %w", errNotExist, err)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxReport))
}

func (b *azureBucket) write(ctx context.Context, name string, data []byte) error {
	ct := "application/gzip"
	_, err := b.client.UploadBuffer(ctx, b.container, b.prefix+name, data, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &ct},
	})
	return err
}

func (b *azureBucket) remove(ctx context.Context, name string) error {
	_, err := b.client.DeleteBlob(ctx, b.container, b.prefix+name, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil
	}
	return err
}
