package aws

import (
	"cmp"
	"context"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// keyCache remembers who manages each key an account's resources name, so
// that a thousand volumes under one key cost one DescribeKey. It lives as
// long as the account's scan.
type keyCache struct {
	mu sync.Mutex
	// byRef holds a key under every name it was asked by (ID, ARN,
	// alias) and its ARN.
	byRef map[string]keyInfo
}

type keyInfo struct {
	arn     string
	manager kmstypes.KeyManagerType
}

func (c *keyCache) get(ref string) (keyInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.byRef[ref]
	return k, ok
}

func (c *keyCache) put(k keyInfo, refs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byRef == nil {
		c.byRef = map[string]keyInfo{}
	}
	for _, r := range append(refs, k.arn) {
		c.byRef[r] = k
	}
}

// classify says whether ref (a key ID, key ARN, alias name or alias ARN, as
// EBS and S3 name keys) is AWS-managed or the customer's. k is a KMS client
// of region, the region of the resource that names the key, or nil to
// derive one only if KMS must be asked.
func (c *keyCache) classify(ctx context.Context, a *account, k *kms.Client, region, ref string) (inventory.Encryption, error) {
	customer := func(id string) inventory.Encryption {
		return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: id}
	}
	provider := inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	name := ref
	if parsed, err := arn.Parse(ref); err == nil {
		// An AWS-managed key is used only by its own account: a key of
		// another account is a customer's, shared with this one, and
		// this account's role may not describe it.
		if parsed.AccountID != "" && parsed.AccountID != a.id {
			return customer(ref), nil
		}
		if parsed.Region != "" && parsed.Region != region {
			region, k = parsed.Region, nil
		}
		name = parsed.Resource
	}
	// AWS-managed keys are the aliases under alias/aws/ (aws/ebs,
	// aws/s3); no customer alias may start so.
	if strings.HasPrefix(name, "alias/aws/") {
		return provider, nil
	}
	if info, ok := c.get(ref); ok {
		return encryptionOf(info), nil
	}
	if k == nil {
		k = a.kmsClient(region)
	}
	out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: awssdk.String(ref)})
	if errorCode(err) == "NotFoundException" {
		// AWS never deletes its managed keys: a key that is gone was
		// the customer's (and the resource's data is unreadable).
		return customer(ref), nil
	}
	if err != nil {
		return inventory.Encryption{}, a.apiErr(region, "kms:DescribeKey", ref, err)
	}
	info := keyInfo{arn: awssdk.ToString(out.KeyMetadata.Arn), manager: out.KeyMetadata.KeyManager}
	c.put(info, ref)
	return encryptionOf(info), nil
}

func encryptionOf(k keyInfo) inventory.Encryption {
	if k.manager == kmstypes.KeyManagerTypeAws {
		return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}
	}
	return inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: k.arn}
}

// kmsClient derives a KMS client of region from the account's config.
func (a *account) kmsClient(region string) *kms.Client {
	a.clients.Add(1)
	return kms.NewFromConfig(a.cfg, func(o *kms.Options) {
		o.Region = region
		setEndpoint(&o.BaseEndpoint, a.ep.KMS)
	})
}

// scanKeys emits the region's keys, AWS-managed ones included (they are
// what "provider-managed" encryption refers to, and the checks skip them by
// Manager), and fills the cache the volumes read.
func (a *account) scanKeys(ctx context.Context, k *kms.Client, region string) error {
	p := kms.NewListKeysPaginator(k, &kms.ListKeysInput{Limit: awssdk.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return a.apiErr(region, "kms:ListKeys", "", err)
		}
		for _, entry := range page.Keys {
			id := awssdk.ToString(entry.KeyArn)
			if k == nil {
				k = a.kmsClient(region)
			}
			out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: entry.KeyArn})
			if err != nil {
				return a.apiErr(region, "kms:DescribeKey", id, err)
			}
			m := out.KeyMetadata
			a.keys.put(keyInfo{arn: awssdk.ToString(m.Arn), manager: m.KeyManager}, id, awssdk.ToString(m.KeyId))
			key := &inventory.Key{State: keyState(m.KeyState), Manager: "customer"}
			switch {
			case m.KeyManager == kmstypes.KeyManagerTypeAws:
				// AWS rotates its managed keys every year, and
				// the customer cannot change that.
				key.Manager, key.RotationEnabled = "provider", true
			case rotatable(m):
				rot, err := k.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: m.Arn})
				if err != nil {
					return a.apiErr(region, "kms:GetKeyRotationStatus", id, err)
				}
				key.RotationEnabled = rot.KeyRotationEnabled
			}
			r := &inventory.Resource{
				Kind: inventory.KindKey, ID: cmp.Or(awssdk.ToString(m.Arn), id), Name: awssdk.ToString(m.KeyId),
				Region: region, Created: awssdk.ToTime(m.CreationDate), Key: key,
			}
			if err := a.send(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// rotatable is whether GetKeyRotationStatus answers for the key rather than
// failing: only symmetric keys with key material KMS made rotate, and a key
// being created, imported or unavailable has no status to give.
func rotatable(m *kmstypes.KeyMetadata) bool {
	return m.KeySpec == kmstypes.KeySpecSymmetricDefault && m.Origin == kmstypes.OriginTypeAwsKms &&
		(m.KeyState == kmstypes.KeyStateEnabled || m.KeyState == kmstypes.KeyStateDisabled || m.KeyState == kmstypes.KeyStatePendingDeletion)
}

// keyState normalises KMS's states to inventory.Key's: enabled, disabled,
// pending-deletion, and the rarer ones lower-cased and hyphenated.
func keyState(s kmstypes.KeyState) string {
	switch s {
	case kmstypes.KeyStatePendingDeletion, kmstypes.KeyStatePendingReplicaDeletion:
		return "pending-deletion"
	case kmstypes.KeyStatePendingImport:
		return "pending-import"
	}
	return strings.ToLower(string(s))
}
