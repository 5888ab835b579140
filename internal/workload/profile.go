package workload

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The label profiles a cluster can select by name.
const (
	// ProfileQuartermaster is the project's own keys, set on nodes by the
	// cluster's operator (KWOK fake nodes, multi-cloud fleets): the only
	// profile with a cloud label.
	ProfileQuartermaster = "quartermaster"
	// ProfileKarpenter is Karpenter's well-known labels. Karpenter does not
	// taint spot nodes, so on-demand placements pin karpenter.sh/capacity-type
	// too: a NodePool allowing both would otherwise launch spot, which
	// Karpenter prefers when allowed. Karpenter runs on AWS by default; an
	// AKS (node auto-provisioning) cluster sets clusterCloud=azure.
	// https://karpenter.sh/docs/concepts/scheduling/#well-known-labels
	ProfileKarpenter = "karpenter"
	// ProfileEKS is EKS managed node groups: eks.amazonaws.com/capacityType
	// is SPOT or ON_DEMAND, and spot nodes are not tainted.
	// https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html
	ProfileEKS = "eks"
	// ProfileGKE is GKE Spot VMs: spot nodes carry cloud.google.com/gke-spot
	// "true" and the taint cloud.google.com/gke-spot=true:NoSchedule;
	// standard nodes carry neither.
	// https://cloud.google.com/kubernetes-engine/docs/how-to/spot-vms
	ProfileGKE = "gke"
	// ProfileAKS is AKS Spot node pools: spot nodes carry
	// kubernetes.azure.com/scalesetpriority=spot and the taint of the same
	// key and value with NoSchedule; regular nodes lack the label.
	// https://learn.microsoft.com/en-us/azure/aks/spot-node-pool
	ProfileAKS = "aks"
)

// Well-known node labels every Kubernetes cloud provider sets.
const (
	labelRegion       = "topology.kubernetes.io/region"
	labelInstanceType = "node.kubernetes.io/instance-type"
)

var profiles = map[string]LabelKeys{
	ProfileQuartermaster: DefaultLabelKeys(),
	ProfileKarpenter: {Region: labelRegion, InstanceType: labelInstanceType,
		CapacityType: "karpenter.sh/capacity-type", SpotValue: "spot", OnDemandValue: "on-demand", ClusterCloud: "aws"},
	ProfileEKS: {Region: labelRegion, InstanceType: labelInstanceType,
		CapacityType: "eks.amazonaws.com/capacityType", SpotValue: "SPOT", OnDemandValue: "ON_DEMAND", ClusterCloud: "aws"},
	ProfileGKE: {Region: labelRegion, InstanceType: labelInstanceType,
		CapacityType: "cloud.google.com/gke-spot", SpotValue: "true",
		SpotTaint: "cloud.google.com/gke-spot", SpotTaintValue: "true", ClusterCloud: "gcp"},
	ProfileAKS: {Region: labelRegion, InstanceType: labelInstanceType,
		CapacityType: "kubernetes.azure.com/scalesetpriority", SpotValue: "spot",
		SpotTaint: "kubernetes.azure.com/scalesetpriority", SpotTaintValue: "spot", ClusterCloud: "azure"},
}

// ProfileNames lists the profiles, sorted.
func ProfileNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Profile returns the label keys and values of a named profile; "" is the
// quartermaster profile.
func Profile(name string) (LabelKeys, error) {
	if name == "" {
		name = ProfileQuartermaster
	}
	k, ok := profiles[name]
	if !ok {
		return LabelKeys{}, fmt.Errorf("label profile %q: want one of %s", name, strings.Join(ProfileNames(), ", "))
	}
	k.Profile = name
	return k, nil
}

// overridable are the fields Override accepts, by their JSON names (the
// chart's labelKeys value uses the same names).
func (k *LabelKeys) overridable() map[string]*string {
	return map[string]*string{
		"cloud": &k.Cloud, "region": &k.Region, "instanceType": &k.InstanceType, "capacityType": &k.CapacityType,
		"spotTaint": &k.SpotTaint, "spotTaintValue": &k.SpotTaintValue, "spotValue": &k.SpotValue,
		"onDemandValue": &k.OnDemandValue, "clusterCloud": &k.ClusterCloud,
	}
}

// Override returns k with one field replaced, named as in its JSON form
// (cloud, region, instanceType, capacityType, spotTaint, spotTaintValue,
// spotValue, onDemandValue, clusterCloud). An empty value clears the field:
// cloud= makes a profile single-cloud.
func (k LabelKeys) Override(name, value string) (LabelKeys, error) {
	if k.Profile == "" {
		k = k.withDefaults()
		k.Profile = ProfileQuartermaster
	}
	f, ok := k.overridable()[name]
	if !ok {
		names := make([]string, 0, 9)
		for n := range k.overridable() {
			names = append(names, n)
		}
		sort.Strings(names)
		return LabelKeys{}, fmt.Errorf("label key %q: want one of %s", name, strings.Join(names, ", "))
	}
	*f = value
	return k, nil
}

// Validate reports a convention placement cannot use: a missing region,
// instance-type or capacity-type key, or no way to tell a node's cloud.
func (k LabelKeys) Validate() error {
	k = k.withDefaults()
	var missing []string
	for name, v := range map[string]string{"region": k.Region, "instanceType": k.InstanceType, "capacityType": k.CapacityType, "spotValue": k.SpotValue} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return fmt.Errorf("label profile %s: %s must not be empty", k.Profile, strings.Join(missing, ", "))
	}
	if k.Cloud == "" && !slices.Contains([]string{"aws", "azure", "gcp"}, k.ClusterCloud) {
		return fmt.Errorf("label profile %s: without a cloud label, clusterCloud must be aws, azure or gcp (got %q)", k.Profile, k.ClusterCloud)
	}
	return nil
}

// CapacityOf maps a node's capacity-type label value (or "" when the node
// lacks the label) onto "spot" or "on-demand"; a value the profile does not
// know is returned as it is, and matches neither.
func (k LabelKeys) CapacityOf(v string) string {
	switch {
	case v == k.SpotValue && v != "":
		return "spot"
	case k.OnDemandValue == "" || v == k.OnDemandValue:
		return "on-demand"
	}
	return v
}

// CapacityValue is the label value nodes of a capacity type ("spot" or
// "on-demand") carry; "" when they carry none.
func (k LabelKeys) CapacityValue(capacity string) string {
	if capacity == "spot" {
		return k.SpotValue
	}
	return k.OnDemandValue
}

// PinsOnDemand reports whether on-demand placements pin the capacity-type
// label. Where spot nodes are tainted, the missing toleration already keeps
// a pod off them (and the quartermaster profile's patch stays as it was);
// where they are not (Karpenter, EKS), only the label does.
func (k LabelKeys) PinsOnDemand() bool {
	return k.SpotTaint == "" && k.OnDemandValue != ""
}

// CloudOf is the cloud of a node with the given labels: its cloud label, or
// the cluster's one cloud in a single-cloud profile.
func (k LabelKeys) CloudOf(labels map[string]string) string {
	if k.Cloud == "" {
		return k.ClusterCloud
	}
	return labels[k.Cloud]
}

// ResolveLabelKeys is the label keys of a named profile with NAME=VALUE
// overrides applied in order (the webhook's --label-key flags and the
// chart's labelKeys value), validated.
func ResolveLabelKeys(profile string, overrides []string) (LabelKeys, error) {
	k, err := Profile(profile)
	if err != nil {
		return LabelKeys{}, err
	}
	for _, o := range overrides {
		name, value, ok := strings.Cut(o, "=")
		if !ok {
			return LabelKeys{}, fmt.Errorf("label key %q: want NAME=VALUE", o)
		}
		if k, err = k.Override(name, value); err != nil {
			return LabelKeys{}, err
		}
	}
	if err := k.Validate(); err != nil {
		return LabelKeys{}, err
	}
	return k, nil
}

// Complete returns the keys with the quartermaster profile's values in the
// empty fields, unless they name a profile (whose empty fields mean "none").
func (k LabelKeys) Complete() LabelKeys { return k.withDefaults() }
