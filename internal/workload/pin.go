package workload

import (
	"slices"
	"strconv"
)

// LabelKeys are the node labels placement pins on (contract 4.2) and the
// values those labels carry for capacity types: one cluster's label
// convention, chosen by profile (see Profile) and overridable key by key.
// The zero value means the quartermaster profile; with Profile empty, each
// empty field takes that profile's value, so that callers that set only a
// key or two keep working.
type LabelKeys struct {
	// Profile names the convention the keys came from; empty means
	// ProfileQuartermaster with defaults filled in field by field.
	Profile string `json:"profile,omitempty"`
	// Cloud is empty in single-cloud profiles: nodes carry no cloud label,
	// the patch pins none and ClusterCloud says which cloud every node is in.
	Cloud        string `json:"cloud"`
	Region       string `json:"region"`
	InstanceType string `json:"instanceType"`
	CapacityType string `json:"capacityType"`
	// SpotTaint is the taint key on spot nodes that spot pods tolerate;
	// empty when the cluster does not taint spot nodes.
	SpotTaint string `json:"spotTaint"`
	// SpotTaintValue is the value of the spot taint; empty tolerates any
	// value (operator Exists).
	SpotTaintValue string `json:"spotTaintValue,omitempty"`
	// SpotValue and OnDemandValue are the values of CapacityType on spot
	// and on-demand nodes. An empty OnDemandValue means on-demand nodes
	// lack the label (GKE): any value but SpotValue reads as on-demand.
	SpotValue     string `json:"spotValue,omitempty"`
	OnDemandValue string `json:"onDemandValue,omitempty"`
	// ClusterCloud is the cloud of every node when Cloud is empty
	// (aws, azure or gcp).
	ClusterCloud string `json:"clusterCloud,omitempty"`
}

// DefaultLabelKeys returns the default node label keys: the quartermaster
// profile.
func DefaultLabelKeys() LabelKeys {
	return LabelKeys{
		Cloud:         "quartermaster.io/cloud",
		Region:        "topology.kubernetes.io/region",
		InstanceType:  "node.kubernetes.io/instance-type",
		CapacityType:  "quartermaster.io/capacity-type",
		SpotTaint:     "quartermaster.io/spot",
		SpotValue:     "spot",
		OnDemandValue: "on-demand",
	}
}

func (k LabelKeys) withDefaults() LabelKeys {
	if k.Profile != "" {
		return k // a named profile is complete; its empty fields mean "none"
	}
	d := DefaultLabelKeys()
	for _, f := range []struct {
		v *string
		d string
	}{
		{&k.Cloud, d.Cloud}, {&k.Region, d.Region}, {&k.InstanceType, d.InstanceType},
		{&k.CapacityType, d.CapacityType}, {&k.SpotTaint, d.SpotTaint},
		{&k.SpotValue, d.SpotValue}, {&k.OnDemandValue, d.OnDemandValue},
	} {
		if *f.v == "" {
			*f.v = f.d
		}
	}
	return k
}

// Field is a placement dimension a pin can constrain.
type Field uint8

// The fields a pin constrains.
const (
	FieldCloud Field = iota
	FieldRegion
	FieldInstanceType
	FieldCapacityType
	numFields
)

func (f Field) String() string {
	return [...]string{"cloud", "region", "instanceType", "capacityType"}[f]
}

// Requirement is one node selector requirement on a placement field.
type Requirement struct {
	Field    Field    `json:"field"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Target is a candidate placement, as the labels its nodes would carry.
type Target struct {
	Cloud, Region, InstanceType, CapacityType string
}

func (t *Target) get(f Field) string {
	switch f {
	case FieldCloud:
		return t.Cloud
	case FieldRegion:
		return t.Region
	case FieldInstanceType:
		return t.InstanceType
	default:
		return t.CapacityType
	}
}

func (r *Requirement) matches(t *Target) bool {
	v := t.get(r.Field)
	switch r.Operator {
	case "In":
		return slices.Contains(r.Values, v)
	case "NotIn":
		return !slices.Contains(r.Values, v)
	case "DoesNotExist":
		return false // every placed node carries the label
	default: // Exists, Gt, Lt: satisfied by any placement we make
		return true
	}
}

// Pin is what a pod set's node selector and required node affinity already
// fix about its placement. Terms are ORed and the requirements within a term
// ANDed, as in a NodeSelector; the node selector is folded into every term.
// Requirements on labels other than the placement keys are ignored: placement
// cannot see them.
type Pin struct {
	Terms [][]Requirement `json:"terms,omitempty"`
}

// IsZero reports whether the pin constrains nothing.
func (p *Pin) IsZero() bool {
	for _, t := range p.Terms {
		if len(t) > 0 {
			return false
		}
	}
	return true
}

// Allows reports whether a placement satisfies the pin.
func (p *Pin) Allows(t *Target) bool {
	if len(p.Terms) == 0 {
		return true
	}
	for _, term := range p.Terms {
		ok := true
		for i := range term {
			if !term[i].matches(t) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Allows reports whether every GPU pod set's pin admits the placement.
func (w *Workload) Allows(t *Target) bool {
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		if ps.GPU.Count > 0 && !ps.Pin.Allows(t) {
			return false
		}
	}
	return true
}

// Pinned reports whether any GPU pod set constrains its placement.
func (w *Workload) Pinned() bool {
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count > 0 && !w.PodSets[i].Pin.IsZero() {
			return true
		}
	}
	return false
}

func (x *Extractor) fieldOf(key string) (Field, bool) {
	if key == "" {
		return 0, false // a profile without that label
	}
	switch key {
	case x.labels.Cloud:
		return FieldCloud, true
	case x.labels.Region:
		return FieldRegion, true
	case x.labels.InstanceType:
		return FieldInstanceType, true
	case x.labels.CapacityType:
		return FieldCapacityType, true
	}
	return 0, false
}

// readPin reads the placement-relevant part of nodeSelector and
// affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.
func (x *Extractor) readPin(spec map[string]any, nodeSelector map[string]string, path string) (Pin, error) {
	var base []Requirement
	for _, k := range []string{x.labels.Cloud, x.labels.Region, x.labels.InstanceType, x.labels.CapacityType} {
		if v, ok := nodeSelector[k]; ok && k != "" {
			f, _ := x.fieldOf(k)
			base = append(base, Requirement{Field: f, Operator: "In", Values: []string{x.canonical(f, v)}})
		}
	}
	terms, err := requiredTerms(spec, path)
	if err != nil {
		return Pin{}, err
	}
	var pin Pin
	if len(terms) == 0 {
		if len(base) > 0 {
			pin.Terms = [][]Requirement{base}
		}
		return pin, nil
	}
	for ti, term := range terms {
		reqs := slices.Clone(base)
		tm, ok := term.(map[string]any)
		if !ok {
			return Pin{}, &ObjectError{Path: path + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[" + strconv.Itoa(ti) + "]", Msg: "want an object"}
		}
		exprs, _ := tm["matchExpressions"].([]any)
		for _, e := range exprs {
			em, _ := e.(map[string]any)
			key, _ := em["key"].(string)
			f, ok := x.fieldOf(key)
			if !ok {
				continue
			}
			op, _ := em["operator"].(string)
			r := Requirement{Field: f, Operator: op}
			vals, _ := em["values"].([]any)
			for _, v := range vals {
				if s, ok := v.(string); ok {
					r.Values = append(r.Values, x.canonical(f, s))
				}
			}
			reqs = append(reqs, r)
		}
		pin.Terms = append(pin.Terms, reqs)
	}
	return pin, nil
}

// canonical maps a capacity-type label value of the profile (SPOT on EKS,
// "true" on GKE) onto placement's own "spot" and "on-demand", so that pins
// compare with candidates; other fields' values are the catalog's already.
func (x *Extractor) canonical(f Field, v string) string {
	if f != FieldCapacityType {
		return v
	}
	return x.labels.CapacityOf(v)
}

func requiredTerms(spec map[string]any, path string) ([]any, error) {
	aff, ok := spec["affinity"].(map[string]any)
	if !ok {
		return nil, nil
	}
	na, ok := aff["nodeAffinity"].(map[string]any)
	if !ok {
		return nil, nil
	}
	req, ok := na["requiredDuringSchedulingIgnoredDuringExecution"].(map[string]any)
	if !ok {
		return nil, nil
	}
	raw, ok := req["nodeSelectorTerms"]
	if !ok || raw == nil {
		return nil, nil
	}
	terms, ok := raw.([]any)
	if !ok {
		return nil, &ObjectError{Path: path + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", Msg: "want a list"}
	}
	return terms, nil
}
