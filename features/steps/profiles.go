package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cucumber/godog"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// profileSteps describe the cluster's nodes: the label convention the patch
// pins (label profiles) and which offers it can provide (the provisionable
// filter over Ready nodes and Karpenter NodePools).
var profileSteps = []step{
	{`^the cluster labels its nodes the "([^"]*)" way$`, labelProfile},
	{`^the cluster has these Ready nodes:$`, readyNodes},
	{`^the cluster has a Karpenter NodePool "([^"]*)" for instance types "([^"]*)" in region "([^"]*)"$`, nodePool},
	{`^every GPU pod template requires "([^"]*)" to be "([^"]*)"$`, requiresLabel},
	{`^no pod template mentions the label "([^"]*)"$`, noLabel},
	{`^every GPU pod template tolerates the taint "([^"]*)"$`, toleratesTaint},
	{`^the decision says the cheaper "([^"]*)" "([^"]*)" was skipped as not provisionable$`, skippedNotProvisionable},
}

// keys are the label keys of the scenario's cluster.
func (w *world) keys() (workload.LabelKeys, error) {
	return workload.ResolveLabelKeys(w.labelProfile, nil)
}

func labelProfile(ctx context.Context, name string) error {
	if _, err := workload.Profile(name); err != nil {
		return err
	}
	get(ctx).labelProfile = name
	return nil
}

// readyNodes adds Ready nodes with the labels of the table ("k=v k=v").
func readyNodes(ctx context.Context, t *godog.Table) error {
	tab, err := readTable(t, "name", "labels")
	if err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	w := get(ctx)
	for _, r := range tab.rows {
		var labels []string
		for _, kv := range strings.Fields(tab.get(r, "labels")) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("node %s: label %q: want key=value", tab.get(r, "name"), kv)
			}
			labels = append(labels, fmt.Sprintf("%q: %q", k, v))
		}
		w.clusterState = append(w.clusterState, fmt.Sprintf(
			"apiVersion: v1\nkind: Node\nmetadata: {name: %s, labels: {%s}}\nstatus: {conditions: [{type: Ready, status: \"True\"}]}\n",
			tab.get(r, "name"), strings.Join(labels, ", ")))
	}
	return nil
}

// nodePool adds a Karpenter NodePool admitting the instance types (comma
// separated) in one region, both capacity types.
func nodePool(ctx context.Context, name, types, region string) error {
	var quoted []string
	for _, t := range strings.Split(types, ",") {
		quoted = append(quoted, fmt.Sprintf("%q", strings.TrimSpace(t)))
	}
	get(ctx).clusterState = append(get(ctx).clusterState, fmt.Sprintf(`apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: %s}
spec:
  template:
    spec:
      requirements:
        - {key: node.kubernetes.io/instance-type, operator: In, values: [%s]}
        - {key: topology.kubernetes.io/region, operator: In, values: [%q]}
`, name, strings.Join(quoted, ", "), region))
	return nil
}

// demanded returns what a pod spec demands of a label: its nodeSelector
// value and the values of its required node affinity.
func demanded(ps map[string]any, key string) []string {
	out := required(ps, key)
	if sel, ok := ps["nodeSelector"].(map[string]any); ok {
		if v, ok := sel[key].(string); ok {
			out = append(out, v)
		}
	}
	return out
}

func requiresLabel(ctx context.Context, key, value string) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	for _, ps := range gpuPodSpecs(m) {
		got := demanded(ps, key)
		if len(got) == 0 || slices.ContainsFunc(got, func(v string) bool { return v != value }) {
			return fmt.Errorf("a GPU pod template demands %q of %s, want %q", got, key, value)
		}
	}
	return nil
}

func noLabel(ctx context.Context, key string) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	for _, ps := range podSpecs(m) {
		if got := demanded(ps, key); len(got) > 0 {
			return fmt.Errorf("a pod template demands %q of %s", got, key)
		}
	}
	return nil
}

func toleratesTaint(ctx context.Context, key string) error {
	m, err := mutated(ctx)
	if err != nil {
		return err
	}
	for _, ps := range gpuPodSpecs(m) {
		if !tolerates(ps, key) {
			return fmt.Errorf("a GPU pod template does not tolerate %s: %v", key, ps["tolerations"])
		}
	}
	return nil
}

// tolerates reports whether a pod spec tolerates the taint key; a pod spec
// without tolerations tolerates nothing.
func tolerates(ps map[string]any, key string) bool {
	tols, _ := ps["tolerations"].([]any)
	for _, t := range tols {
		if m, ok := t.(map[string]any); ok && m["key"] == key {
			return true
		}
	}
	return false
}

func skippedNotProvisionable(ctx context.Context, cloud, region string) error {
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	s := d.Skipped
	if s == nil || s.Cloud != cloud || s.Region != region || !strings.HasPrefix(s.Reason, "not provisionable") {
		return fmt.Errorf("skipped: %+v", s)
	}
	return nil
}
