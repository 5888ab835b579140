package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// Cluster is the real cluster that @cluster scenarios run against: a local
// control plane with KWOK GPU nodes and the Quartermaster webhook
// registered through the chart, set up by the e2e suite (test/e2e, run by
// make e2e). Outside it, @cluster scenarios are left out with a reason.
type Cluster struct {
	// Kubectl runs the real kubectl against the cluster, with stdin when
	// given; stderr carries the API server's refusals and warnings.
	Kubectl func(ctx context.Context, stdin []byte, args ...string) (stdout, stderr string, err error)
}

// clusterSteps apply the scenario's object with kubectl, through the API
// server and the registered webhook, and read back what the API server
// stored.
var clusterSteps = []step{
	{`^it is applied to the cluster$`, appliedToCluster},
	{`^the cluster refuses it with "(.*)"$`, clusterRefuses},
	{`^kubectl warns "(.*)"$`, kubectlWarns},
	{`^the cluster stores it placed in the jurisdiction "([^"]*)"$`, storedInJurisdiction},
	{`^the cluster stores it placed on "([^"]*)" capacity$`, storedOnCapacity},
	{`^the cluster stores it without a decision$`, storedWithoutDecision},
	{`^its pods are created with its placement$`, podsCarryPlacement},
	{`^it is labelled "([^"]*)" with "([^"]*)" in the cluster$`, labelledInCluster},
	{`^it is scaled to (\d+) replicas in the cluster$`, scaledInCluster},
	{`^the cluster keeps its first decision$`, clusterKeepsDecision},
}

// applied is what kubectl said when the object was applied.
type applied struct {
	stdout, stderr string
	err            error
}

func (w *world) kubectl(ctx context.Context, stdin []byte, args ...string) (string, string, error) {
	if w.cluster == nil {
		return "", "", errors.New("this scenario needs a cluster: it runs in make e2e (test/e2e)")
	}
	return w.cluster.Kubectl(ctx, stdin, args...)
}

// setUpNamespace creates the scenario's own namespace with the service
// account the steps' pods run as.
func (w *world) setUpNamespace(ctx context.Context, name string) error {
	if _, errOut, err := w.kubectl(ctx, nil, "create", "namespace", name); err != nil {
		return fmt.Errorf("creating namespace %s: %v: %s", name, err, errOut)
	}
	w.clusterNS = name
	if _, errOut, err := w.kubectl(ctx, nil, "create", "serviceaccount", defaultAccount, "-n", name); err != nil {
		return fmt.Errorf("creating service account %s: %v: %s", defaultAccount, err, errOut)
	}
	return nil
}

// manifest is the scenario's object in the scenario's namespace, as JSON.
func (w *world) manifest() ([]byte, error) {
	obj, err := w.obj()
	if err != nil {
		return nil, err
	}
	obj = clone(obj)
	metadata(obj)["namespace"] = w.clusterNS
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return raw, nil
}

// resource is kind.group/name for kubectl.
func (w *world) resource() (string, error) {
	obj, err := w.obj()
	if err != nil {
		return "", err
	}
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	r := strings.ToLower(kind)
	if group, _, ok := strings.Cut(apiVersion, "/"); ok {
		r += "." + group
	}
	return r + "/" + fmt.Sprint(metadata(obj)["name"]), nil
}

func appliedToCluster(ctx context.Context) error {
	w := get(ctx)
	raw, err := w.manifest()
	if err != nil {
		return err
	}
	out, errOut, err := w.kubectl(ctx, raw, "apply", "-f", "-")
	w.applied = &applied{out, errOut, err}
	if err != nil {
		return nil // a refusal: the Then steps say whether it was expected
	}
	if err := w.fetchStored(ctx); err != nil {
		return err
	}
	if d, err := w.storedDecision(); err == nil {
		w.firstDecision = d
	}
	return nil
}

// fetchStored reads the object as the API server stores it.
func (w *world) fetchStored(ctx context.Context) error {
	res, err := w.resource()
	if err != nil {
		return err
	}
	out, errOut, err := w.kubectl(ctx, nil, "get", res, "-n", w.clusterNS, "-o", "json")
	if err != nil {
		return fmt.Errorf("reading %s back: %v: %s", res, err, errOut)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return fmt.Errorf("decoding %s: %w", res, err)
	}
	w.stored = obj
	return nil
}

func (w *world) wasApplied() (*applied, error) {
	if w.applied == nil {
		return nil, errors.New("nothing was applied to the cluster")
	}
	return w.applied, nil
}

func clusterRefuses(ctx context.Context, text string) error {
	a, err := get(ctx).wasApplied()
	if err != nil {
		return err
	}
	if a.err == nil || !strings.Contains(a.stderr, unquote(text)) {
		return fmt.Errorf("want a refusal saying %q, kubectl said (%v): %s%s", unquote(text), a.err, a.stdout, a.stderr)
	}
	return nil
}

func kubectlWarns(ctx context.Context, text string) error {
	a, err := get(ctx).wasApplied()
	if err != nil {
		return err
	}
	if a.err != nil || !strings.Contains(a.stderr, "Warning: ") || !strings.Contains(a.stderr, unquote(text)) {
		return fmt.Errorf("want a warning saying %q, kubectl said (%v): %s%s", unquote(text), a.err, a.stdout, a.stderr)
	}
	return nil
}

// storedPlacement is the decision the stored object carries, checked
// against the region its GPU pod templates are pinned to.
func storedPlacement(ctx context.Context) (*admission.Decision, error) {
	w := get(ctx)
	a, err := w.wasApplied()
	if err != nil {
		return nil, err
	}
	if a.err != nil {
		return nil, fmt.Errorf("refused: %v: %s", a.err, a.stderr)
	}
	d, err := w.storedDecision()
	if err != nil {
		return nil, err
	}
	keys, err := w.keys()
	if err != nil {
		return nil, err
	}
	for _, ps := range gpuPodSpecs(w.stored) {
		if err := pinnedTo(ps, keys.Region, d.Region); err != nil {
			return nil, fmt.Errorf("the stored object: %w", err)
		}
	}
	return d, nil
}

func storedInJurisdiction(ctx context.Context, j string) error {
	d, err := storedPlacement(ctx)
	if err != nil {
		return err
	}
	if d.Jurisdiction != j {
		return fmt.Errorf("stored placed in %s %s, jurisdiction %q", d.Cloud, d.Region, d.Jurisdiction)
	}
	return nil
}

func storedOnCapacity(ctx context.Context, capacity string) error {
	d, err := storedPlacement(ctx)
	if err != nil {
		return err
	}
	if string(d.CapacityType) != capacity {
		return fmt.Errorf("stored placed on %s capacity in %s %s", d.CapacityType, d.Cloud, d.Region)
	}
	return nil
}

func storedWithoutDecision(ctx context.Context) error {
	w := get(ctx)
	a, err := w.wasApplied()
	if err != nil {
		return err
	}
	if a.err != nil {
		return fmt.Errorf("refused: %v: %s", a.err, a.stderr)
	}
	if raw, ok := annotations(w.stored)[workload.AnnotationDecision]; ok {
		return fmt.Errorf("the stored object carries a decision: %v", raw)
	}
	for _, ps := range podSpecs(w.stored) {
		if _, ok := ps["affinity"]; ok {
			return fmt.Errorf("the stored object has node affinity: %v", ps["affinity"])
		}
	}
	return nil
}

// podsCarryPlacement waits for the controller to create the pods and
// checks that each is pinned to the decision's region.
func podsCarryPlacement(ctx context.Context) error {
	w := get(ctx)
	d, err := storedPlacement(ctx)
	if err != nil {
		return err
	}
	keys, err := w.keys()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := func() error {
			out, errOut, err := w.kubectl(ctx, nil, "get", "pods", "-n", w.clusterNS, "-o", "json")
			if err != nil {
				return fmt.Errorf("listing pods: %v: %s", err, errOut)
			}
			var list struct {
				Items []map[string]any `json:"items"`
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				return err
			}
			if len(list.Items) == 0 {
				return errors.New("no pods yet")
			}
			for _, p := range list.Items {
				spec, _ := p["spec"].(map[string]any)
				if err := pinnedTo(spec, keys.Region, d.Region); err != nil {
					return fmt.Errorf("pod %v: %w", metadata(p)["name"], err)
				}
			}
			return nil
		}()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the pods do not carry the placement after 90s: %w", err)
		}
		time.Sleep(time.Second)
	}
}

func labelledInCluster(ctx context.Context, key, value string) error {
	w := get(ctx)
	res, err := w.resource()
	if err != nil {
		return err
	}
	if _, errOut, err := w.kubectl(ctx, nil, "label", res, "-n", w.clusterNS, key+"="+value); err != nil {
		return fmt.Errorf("kubectl label: %v: %s", err, errOut)
	}
	return w.fetchStored(ctx)
}

func scaledInCluster(ctx context.Context, n int) error {
	w := get(ctx)
	res, err := w.resource()
	if err != nil {
		return err
	}
	if _, errOut, err := w.kubectl(ctx, nil, "scale", res, "-n", w.clusterNS, fmt.Sprintf("--replicas=%d", n)); err != nil {
		return fmt.Errorf("kubectl scale: %v: %s", err, errOut)
	}
	return w.fetchStored(ctx)
}

func clusterKeepsDecision(ctx context.Context) error {
	w := get(ctx)
	d, err := storedPlacement(ctx)
	if err != nil {
		return err
	}
	if w.firstDecision == nil || d.ID != w.firstDecision.ID {
		return fmt.Errorf("the stored decision is %s, not the first one %v", d.ID, w.firstDecision)
	}
	return nil
}
