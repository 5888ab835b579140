package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// updateSteps follow an admitted object through its life: UPDATEs sent with
// the stored object as oldObject, as the API server sends them.
var updateSteps = []step{
	{`^its own pods hold (\d+) "([^"]*)" GPUs in "([^"]*)" "([^"]*)"$`, ownPodsHold},
	{`^it is labelled "([^"]*)" with "([^"]*)"$`, updateLabel},
	{`^it is scaled to (\d+) replicas?$`, updateReplicas},
	{`^its image is changed to "([^"]*)"$`, updateImage},
	{`^its annotation "([^"]*)" is changed to "([^"]*)"$`, updateAnnotation},
	{`^it is replaced by a manifest without Quartermaster's annotation and pins$`, replacedWithoutPins},
	{`^its finalizers are removed while it is being deleted$`, finalizersRemoved},
	{`^the recorded decision is kept$`, decisionKept},
	{`^it is placed again$`, placedAgain},
	{`^the stored object carries the first decision again$`, storedCarriesFirst},
}

// ownPodsHold says the admitted object's pods hold GPUs: they count in the
// usage, and the webhook knows they are its own.
func ownPodsHold(ctx context.Context, n int, model, cloud, region string) error {
	w := get(ctx)
	k := quota.Key{Cloud: cloud, Region: region, GPUModel: model}
	w.usage[k] += int64(n)
	if w.ownUsage == nil {
		w.ownUsage = quota.GPUCounts{}
	}
	w.ownUsage[k] += int64(n)
	return nil
}

// update sends an UPDATE of the stored object changed by f.
func update(ctx context.Context, f func(obj map[string]any) error) error {
	w := get(ctx)
	if w.stored == nil {
		return errors.New("nothing was admitted to update")
	}
	old := w.stored
	obj := clone(old)
	if err := f(obj); err != nil {
		return err
	}
	w.object = obj
	return w.admit("UPDATE", obj, old, false)
}

func updateLabel(ctx context.Context, key, value string) error {
	return update(ctx, func(obj map[string]any) error {
		m := metadata(obj)
		labels, _ := m["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
			m["labels"] = labels
		}
		labels[key] = value
		return nil
	})
}

// updateReplicas sets the replica count the way the kind keeps it.
func updateReplicas(ctx context.Context, n int) error {
	return update(ctx, func(obj map[string]any) error {
		spec, _ := obj["spec"].(map[string]any)
		switch obj["kind"] {
		case "Deployment", "StatefulSet", "ReplicaSet":
			spec["replicas"] = float64(n)
		case "Job":
			spec["parallelism"] = float64(n)
		default:
			return fmt.Errorf("the steps scale Deployments, StatefulSets, ReplicaSets and Jobs, not %v", obj["kind"])
		}
		return nil
	})
}

func updateImage(ctx context.Context, image string) error {
	return update(ctx, func(obj map[string]any) error {
		for _, c := range containers(obj) {
			c["image"] = image
		}
		return nil
	})
}

func updateAnnotation(ctx context.Context, key, value string) error {
	return update(ctx, func(obj map[string]any) error {
		annotations(obj)[key] = value
		return nil
	})
}

// replacedWithoutPins is a kubectl replace of the original manifest: the
// decision annotation and the node affinity and spot pins are gone.
func replacedWithoutPins(ctx context.Context) error {
	return update(ctx, func(obj map[string]any) error {
		delete(annotations(obj), workload.AnnotationDecision)
		for _, ps := range podSpecs(obj) {
			delete(ps, "affinity")
			delete(ps, "tolerations")
			delete(ps, "nodeSelector")
		}
		return nil
	})
}

// finalizersRemoved is the last UPDATE of a deletion. It changes the image
// too, to show that nothing is judged any more.
func finalizersRemoved(ctx context.Context) error {
	return update(ctx, func(obj map[string]any) error {
		m := metadata(obj)
		m["deletionTimestamp"] = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
		delete(m, "finalizers")
		for _, c := range containers(obj) {
			c["image"] = "docker.io/unknown/anything:latest"
		}
		return nil
	})
}

func decisionKept(ctx context.Context) error {
	w := get(ctx)
	if err := isAllowed(ctx); err != nil {
		return err
	}
	d, err := w.decision()
	if err != nil {
		return err
	}
	if d == nil || w.firstDecision == nil || d.ID != w.firstDecision.ID {
		return fmt.Errorf("want the first decision %v kept, the update got %+v", w.firstDecision, d)
	}
	return nil
}

func placedAgain(ctx context.Context) error {
	w := get(ctx)
	d, err := placed(ctx)
	if err != nil {
		return err
	}
	if w.firstDecision == nil || d.ID == w.firstDecision.ID {
		return fmt.Errorf("want a new decision, the update kept %s", d.ID)
	}
	return nil
}

func storedCarriesFirst(ctx context.Context) error {
	w := get(ctx)
	d, err := w.storedDecision()
	if err != nil {
		return err
	}
	if w.firstDecision == nil || d.ID != w.firstDecision.ID {
		return fmt.Errorf("the stored object carries decision %s", d.ID)
	}
	keys := workload.DefaultLabelKeys()
	for _, ps := range gpuPodSpecs(w.stored) {
		if err := pinnedTo(ps, keys.Region, d.Region); err != nil {
			return err
		}
	}
	return nil
}
