package costing

import (
	"fmt"
	"slices"
	"strings"
)

// Restrictions narrow where a workload may run. Policy produces them (contract
// 4.3: restrict and require); tests and qm eval can set them directly.
//
// For each list, nil means unrestricted and a non-nil empty list means
// nothing is allowed (two policies disagreed).
type Restrictions struct {
	Clouds        []string `json:"clouds,omitempty"`
	Regions       []string `json:"regions,omitempty"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	CapacityTypes []string `json:"capacityTypes,omitempty"`
	GPUModels     []string `json:"gpuModels,omitempty"`
	// Capabilities every offer must have, e.g. confidential-computing.
	Capabilities []string `json:"capabilities,omitempty"`
	// Reasons records which rule imposed what, for the decision annotation
	// and for error messages.
	Reasons []Reason `json:"reasons,omitempty"`
}

// Reason is one restriction and why it applies.
type Reason struct {
	Field   string   `json:"field"`
	Allowed []string `json:"allowed,omitempty"`
	Reason  string   `json:"reason"`
	Policy  string   `json:"policy,omitempty"`
}

// The restrictable fields (contract 4.3).
const (
	FieldCloud        = "cloud"
	FieldRegion       = "region"
	FieldJurisdiction = "jurisdiction"
	FieldCapacityType = "capacityType"
	FieldGPUModel     = "gpuModel"
	FieldCapability   = "capability"
)

// Restrict intersects the allowed values of a field with allowed and records
// why. It reports false for an unknown field.
func (r *Restrictions) Restrict(field string, allowed []string, reason, policy string) bool {
	var dst *[]string
	switch field {
	case FieldCloud:
		dst = &r.Clouds
	case FieldRegion:
		dst = &r.Regions
	case FieldJurisdiction:
		dst = &r.Jurisdictions
	case FieldCapacityType:
		dst = &r.CapacityTypes
	case FieldGPUModel:
		dst = &r.GPUModels
		canon := make([]string, len(allowed))
		for i, a := range allowed {
			canon[i] = CanonicalGPUModel(a)
		}
		allowed = canon
	default:
		return false
	}
	*dst = intersect(*dst, allowed)
	r.Reasons = append(r.Reasons, Reason{Field: field, Allowed: slices.Clone(allowed), Reason: reason, Policy: policy})
	return true
}

// Check verifies that every cloud, region, jurisdiction and GPU model a
// restriction allows is a name the catalog knows (Names), and names
// the restriction (its Reason, e.g. "--restrict cloud=AWS") when one is not.
// A misspelt value would otherwise allow nothing, and the workload would be
// reported unplaceable for a reason that is not the real one. A nil
// receiver has nothing to check.
func (r *Restrictions) Check(names *Names) error {
	if r == nil {
		return nil
	}
	for _, rs := range r.Reasons {
		for _, v := range rs.Allowed {
			var err error
			switch rs.Field {
			case FieldCloud:
				err = names.Cloud(v)
			case FieldRegion:
				err = names.AnyRegion(v)
			case FieldJurisdiction:
				err = names.Jurisdiction(v)
			case FieldGPUModel:
				_, err = names.GPUModel(v)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", rs.Reason, err)
			}
		}
	}
	return nil
}

// Require adds a capability every offer must have.
func (r *Restrictions) Require(capability, reason, policy string) {
	if !slices.Contains(r.Capabilities, capability) {
		r.Capabilities = append(r.Capabilities, capability)
	}
	r.Reasons = append(r.Reasons, Reason{Field: FieldCapability, Allowed: []string{capability}, Reason: reason, Policy: policy})
}

// intersect returns a ∩ b, treating nil as "everything".
func intersect(a, b []string) []string {
	if a == nil {
		out := make([]string, 0, len(b))
		for _, v := range b {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	out := make([]string, 0, len(a))
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// Allows reports whether v is allowed by a restriction list.
func Allows(list []string, v string) bool { return list == nil || slices.Contains(list, v) }

// AllowsOffer reports whether an offer passes every restriction except the
// capacity type, which is checked per price.
func (r *Restrictions) AllowsOffer(o *Offer) bool {
	if !Allows(r.Clouds, o.Cloud) || !Allows(r.Regions, o.Region) || !Allows(r.Jurisdictions, o.Jurisdiction) {
		return false
	}
	for _, c := range r.Capabilities {
		if !o.HasCapability(c) {
			return false
		}
	}
	return true
}

// String summarises the restrictions for messages.
func (r *Restrictions) String() string {
	var parts []string
	add := func(name string, l []string) {
		if l != nil {
			parts = append(parts, name+" in ["+strings.Join(l, ",")+"]")
		}
	}
	add("cloud", r.Clouds)
	add("region", r.Regions)
	add("jurisdiction", r.Jurisdictions)
	add("capacity type", r.CapacityTypes)
	add("gpu model", r.GPUModels)
	if len(r.Capabilities) > 0 {
		parts = append(parts, "capabilities ["+strings.Join(r.Capabilities, ",")+"]")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
