package encryption

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// DatasetFacts is what an inventory knows about a bucket (or a prefix in it).
type DatasetFacts struct {
	// Location is the bucket or prefix these facts cover, e.g. s3://corpus-eu/
	// or gs://ckpt/run7/.
	Location string `json:"location"`
	Cloud    string `json:"cloud"`
	Region   string `json:"region"`
	// Encrypted says whether objects are encrypted at rest.
	Encrypted bool `json:"encrypted"`
	// KeyKind is provider-managed or customer-managed when encrypted.
	KeyKind   string `json:"keyKind,omitempty"`
	SizeBytes int64  `json:"sizeBytes,omitempty"`
}

// DatasetLookup finds the facts of a dataset location. Found is false when
// nothing is known; an error is a fault of the lookup itself. Admission
// implementations must answer from memory.
type DatasetLookup interface {
	LookupDataset(ctx context.Context, location string) (facts DatasetFacts, found bool, err error)
}

// Inventory is a file-backed DatasetLookup for offline use (`qm eval
// --inventory`): the longest location prefix wins.
type Inventory struct {
	entries []DatasetFacts // sorted by descending location length
}

var _ DatasetLookup = (*Inventory)(nil)

// inventoryFile is the YAML shape of an inventory file.
type inventoryFile struct {
	Datasets []DatasetFacts `json:"datasets"`
}

// ReadInventory parses `datasets: [{location, cloud, region, encrypted,
// keyKind, sizeBytes}]`. Errors name the entry and field at fault.
func ReadInventory(r io.Reader) (*Inventory, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading inventory: %w", err)
	}
	var f inventoryFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		// One line: the YAML decoder lists its errors one per line.
		return nil, fmt.Errorf("reading inventory: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	inv := &Inventory{}
	seen := map[string]bool{}
	for i, d := range f.Datasets {
		where := fmt.Sprintf("inventory datasets[%d]", i)
		if _, _, err := splitLocation(d.Location); err != nil {
			return nil, fmt.Errorf("%s: location: %w", where, err)
		}
		switch d.Cloud {
		case "aws", "azure", "gcp":
		default:
			return nil, fmt.Errorf("%s (%s): cloud %q: want aws, azure or gcp", where, d.Location, d.Cloud)
		}
		if d.Region == "" {
			return nil, fmt.Errorf("%s (%s): region is required", where, d.Location)
		}
		switch {
		case !d.Encrypted && d.KeyKind != "":
			return nil, fmt.Errorf("%s (%s): keyKind %q given but encrypted is false", where, d.Location, d.KeyKind)
		case d.Encrypted && d.KeyKind != KeyProviderManaged && d.KeyKind != KeyCustomerManaged:
			return nil, fmt.Errorf("%s (%s): keyKind %q: want provider-managed or customer-managed", where, d.Location, d.KeyKind)
		}
		if d.SizeBytes < 0 {
			return nil, fmt.Errorf("%s (%s): sizeBytes %d: want ≥ 0", where, d.Location, d.SizeBytes)
		}
		d.Location = normalise(d.Location)
		if seen[d.Location] {
			return nil, fmt.Errorf("%s: location %s listed twice", where, d.Location)
		}
		seen[d.Location] = true
		inv.entries = append(inv.entries, d)
	}
	slices.SortStableFunc(inv.entries, func(a, b DatasetFacts) int { return len(b.Location) - len(a.Location) })
	return inv, nil
}

// LookupDataset implements DatasetLookup.
func (inv *Inventory) LookupDataset(_ context.Context, location string) (DatasetFacts, bool, error) {
	loc := normalise(location)
	for _, e := range inv.entries {
		if strings.HasPrefix(loc, e.Location) {
			return e, true, nil
		}
	}
	return DatasetFacts{}, false, nil
}

// splitLocation returns the scheme and bucket of a dataset URI.
func splitLocation(loc string) (scheme, bucket string, err error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", fmt.Errorf("%q is not a URI: %w", loc, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return "", "", fmt.Errorf("%q: want scheme://bucket/path, e.g. s3://corpus/v3/", loc)
	}
	return u.Scheme, u.Host, nil
}

// normalise makes every bucket-level location end in "/" so that
// s3://corpus matches s3://corpus/ but not s3://corpus-eu/.
func normalise(loc string) string {
	if scheme, rest, ok := strings.Cut(loc, "://"); ok && !strings.Contains(rest, "/") {
		return scheme + "://" + rest + "/"
	}
	return loc
}
