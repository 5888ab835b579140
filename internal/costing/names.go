package costing

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Names checks the cloud, region, jurisdiction and GPU model names that
// quota, usage and restriction entries refer to. Every reader of those
// inputs checks them here, against the same region table and GPU model list
// the catalog is built with: a misspelt name would otherwise be a key that
// matches no offer, and a quota on it a limit that silently never applies.
//
// Case is decided once, here. Cloud, region and jurisdiction names are
// identifiers compared exactly, in lower case as the clouds spell them in
// node labels (topology.kubernetes.io/region=eastus); any other spelling is
// refused, with the known one suggested, and never normalised, because a pin
// or node label in another case would not match either. GPU model names are
// the documented exception (contract 4.4): every reader maps them through the
// alias table of CanonicalGPUModel, which ignores case and vendor prefixes,
// and the result must then be a known model.
type Names struct {
	regions *Regions
	// models are the canonical GPU models: the alias table's and any
	// catalog's own (a catalog may sell a model the table does not know).
	models []string
}

// NewNames checks names against a region table (nil: the embedded one) and
// the canonical GPU models plus extraModels (a catalog's).
func NewNames(regions *Regions, extraModels []string) *Names {
	if regions == nil {
		regions = DefaultRegions()
	}
	models := slices.Clone(canonicalModels)
	for _, m := range extraModels {
		if !slices.Contains(models, m) {
			models = append(models, m)
		}
	}
	return &Names{regions: regions, models: models}
}

// Names returns the checker for inputs that refer to this catalog: its
// region table (declared regions included) and GPU models.
func (c *Catalog) Names() *Names { return NewNames(c.regions, c.models) }

// NameError is a cloud, region, jurisdiction or GPU model name that the
// region table or the GPU model list does not know.
type NameError struct {
	// Field is cloud, region, jurisdiction or gpuModel.
	Field string
	Value string
	// Want says what was expected, with a suggestion when one is close.
	Want string
}

func (e *NameError) Error() string { return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Want) }

// Cloud checks a cloud name.
func (n *Names) Cloud(cloud string) error {
	if slices.Contains(Clouds, cloud) {
		return nil
	}
	return &NameError{Field: "cloud", Value: cloud, Want: "want one of " + strings.Join(Clouds, ", ") + suggest(cloud, Clouds)}
}

// Region checks a cloud and a region of it.
func (n *Names) Region(cloud, region string) error {
	if err := n.Cloud(cloud); err != nil {
		return err
	}
	if n.regions.Known(cloud, region) {
		return nil
	}
	want := "not a region of " + cloud + " in the region table"
	if s := n.regionHint(cloud, region); s != "" {
		return &NameError{Field: "region", Value: region, Want: want + s}
	}
	return &NameError{Field: "region", Value: region, Want: want + " (known: " + strings.Join(n.regionsOf(cloud), ", ") + ")"}
}

// AnyRegion checks a region name without its cloud (a region restriction):
// some cloud of the region table must have it.
func (n *Names) AnyRegion(region string) error {
	var all []string
	for _, r := range n.regions.All() {
		if r.Region == region {
			return nil
		}
		all = append(all, r.Region)
	}
	want := "not a region of any cloud in the region table"
	if s := suggest(region, all); s != "" {
		return &NameError{Field: "region", Value: region, Want: want + s}
	}
	return &NameError{Field: "region", Value: region, Want: want + " (internal/costing/data/regions.csv)"}
}

// regionHint suggests the known region a misspelt one means, or "".
func (n *Names) regionHint(cloud, region string) string { return suggest(region, n.regionsOf(cloud)) }

func (n *Names) regionsOf(cloud string) []string {
	var out []string
	for _, r := range n.regions.All() {
		if r.Cloud == cloud {
			out = append(out, r.Region)
		}
	}
	return out
}

// Jurisdiction checks a jurisdiction name against those of the region table.
func (n *Names) Jurisdiction(j string) error {
	var known []string
	for _, r := range n.regions.All() {
		if !slices.Contains(known, r.Jurisdiction) {
			known = append(known, r.Jurisdiction)
		}
	}
	if slices.Contains(known, j) {
		return nil
	}
	return &NameError{Field: "jurisdiction", Value: j, Want: "want one of " + strings.Join(known, ", ") + suggest(j, known)}
}

// GPUModel returns the canonical name of a GPU model, or an error when the
// alias table and the catalog do not know it.
func (n *Names) GPUModel(name string) (string, error) {
	c := CanonicalGPUModel(name)
	if c != "" && slices.Contains(n.models, c) {
		return c, nil
	}
	return "", &NameError{Field: "gpuModel", Value: name, Want: "not a known GPU model (want one of " + strings.Join(n.models, ", ") + ")"}
}

// suggest names a known value that differs from v only in case, spaces or
// separators: the usual misspelling (Azure, EastUS, "East US").
func suggest(v string, known []string) string {
	fold := func(s string) string { return strings.ToLower(nameFolder.Replace(s)) }
	for _, k := range known {
		if fold(k) == fold(v) {
			if strings.ToLower(v) == k {
				return fmt.Sprintf("; did you mean %q? (names are lower case, as in node labels)", k)
			}
			return fmt.Sprintf("; did you mean %q?", k)
		}
	}
	return ""
}

var nameFolder = strings.NewReplacer(" ", "", "-", "", "_", "")

// identifier is the shape of a cloud region or jurisdiction name: lower case
// letters, digits and dashes, as all three clouds write them.
var identifier = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// jurisdictionName is a lower-case code such as us, eu or uk.
var jurisdictionName = regexp.MustCompile(`^[a-z]{2,8}$`)
