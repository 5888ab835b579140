package steps

import (
	"encoding/json"
	"fmt"
	"slices"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// The defaults of a workload a scenario describes: a known team, an allowed
// registry and its own service account, so that only what the scenario
// says about it decides.
const (
	defaultTeam      = "research"
	defaultNamespace = "research"
	defaultImage     = "ghcr.io/example/train:2.4"
	defaultAccount   = "trainer"
)

// podTemplate is a pod template with GPU containers, labelled for the
// Deployment selector, restarted on failure (a batch workload).
func podTemplate(gpus int) map[string]any {
	c := map[string]any{"name": "main", "image": defaultImage}
	if gpus > 0 {
		c["resources"] = map[string]any{"limits": map[string]any{"nvidia.com/gpu": float64(gpus)}}
	}
	return map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "train"}},
		"spec": map[string]any{
			"serviceAccountName": defaultAccount,
			"restartPolicy":      "OnFailure",
			"containers":         []any{c},
		},
	}
}

// serviceTemplate is podTemplate for a controller that keeps its pods
// running (Deployment, StatefulSet, ReplicaSet): the API server accepts
// only restartPolicy Always there.
func serviceTemplate(gpus int) map[string]any {
	t := podTemplate(gpus)
	t["spec"].(map[string]any)["restartPolicy"] = "Always"
	return t
}

// newWorkload builds an object of kind whose GPU pods, replicas in all,
// each ask for gpus GPUs of model (no model: any).
func newWorkload(kind string, replicas, gpus int, model string) (map[string]any, error) {
	ann := map[string]any{workload.AnnotationTeam: defaultTeam}
	if model != "" {
		ann[workload.AnnotationGPUModels] = model
	}
	meta := map[string]any{"name": "train", "namespace": defaultNamespace, "annotations": ann}
	n := float64(replicas)
	obj := map[string]any{"kind": kind, "metadata": meta}
	switch kind {
	case "Pod":
		if replicas != 1 {
			return nil, fmt.Errorf("a Pod is one replica, not %d", replicas)
		}
		obj["apiVersion"] = "v1"
		obj["spec"] = podTemplate(gpus)["spec"]
	case "Job":
		obj["apiVersion"] = "batch/v1"
		obj["spec"] = map[string]any{"parallelism": n, "template": podTemplate(gpus)}
	case "CronJob":
		obj["apiVersion"] = "batch/v1"
		obj["spec"] = map[string]any{"schedule": "0 2 * * *", "jobTemplate": map[string]any{
			"spec": map[string]any{"parallelism": n, "template": podTemplate(gpus)}}}
	case "Deployment", "StatefulSet", "ReplicaSet":
		obj["apiVersion"] = "apps/v1"
		obj["spec"] = map[string]any{"replicas": n, "selector": map[string]any{"matchLabels": map[string]any{"app": "train"}},
			"template": serviceTemplate(gpus)}
	case "PyTorchJob":
		// One master and the rest workers: one gang.
		if replicas < 2 {
			return nil, fmt.Errorf("a PyTorchJob here has a master and at least one worker, not %d replicas", replicas)
		}
		obj["apiVersion"] = "kubeflow.org/v1"
		obj["spec"] = map[string]any{"pytorchReplicaSpecs": map[string]any{
			"Master": map[string]any{"replicas": float64(1), "template": podTemplate(gpus)},
			"Worker": map[string]any{"replicas": n - 1, "template": podTemplate(gpus)},
		}}
	case "RayCluster":
		// A head without GPUs and a worker group with them.
		obj["apiVersion"] = "ray.io/v1"
		head := podTemplate(0)
		head["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "docker.io/rayproject/ray:2.40.0"
		worker := podTemplate(gpus)
		worker["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "docker.io/rayproject/ray:2.40.0-gpu"
		obj["spec"] = map[string]any{
			"headGroupSpec":    map[string]any{"template": head},
			"workerGroupSpecs": []any{map[string]any{"groupName": "gpu", "replicas": n, "template": worker}},
		}
	default:
		return nil, fmt.Errorf("kind %s: the steps describe Pod, Job, CronJob, Deployment, StatefulSet, ReplicaSet, PyTorchJob and RayCluster", kind)
	}
	return obj, nil
}

// metadata returns obj's metadata, creating it.
func metadata(obj map[string]any) map[string]any {
	m, ok := obj["metadata"].(map[string]any)
	if !ok {
		m = map[string]any{}
		obj["metadata"] = m
	}
	return m
}

// annotations returns obj's annotations, creating them.
func annotations(obj map[string]any) map[string]any {
	m := metadata(obj)
	a, ok := m["annotations"].(map[string]any)
	if !ok {
		a = map[string]any{}
		m["annotations"] = a
	}
	return a
}

// podSpecs finds every pod spec in obj: maps with a containers list, found
// wherever they are, so that the steps need no table of kinds.
func podSpecs(obj map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if _, ok := t["containers"].([]any); ok {
				out = append(out, t)
				return
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(obj["spec"])
	return out
}

// gpuPodSpecs are the pod specs whose containers ask for GPUs.
func gpuPodSpecs(obj map[string]any) []map[string]any {
	var out []map[string]any
	for _, ps := range podSpecs(obj) {
		if asksForGPU(ps) {
			out = append(out, ps)
		}
	}
	return out
}

// asksForGPU reports whether a container of the pod spec has resources
// (the steps give resources only to GPU containers).
func asksForGPU(ps map[string]any) bool {
	// A patched or hand-written pod spec may lack containers: that is no
	// GPU, not a panic of the suite.
	cs, _ := ps["containers"].([]any)
	for _, c := range cs {
		cm, _ := c.(map[string]any)
		if res, _ := cm["resources"].(map[string]any); len(res) > 0 {
			return true
		}
	}
	return false
}

// containers returns the containers of every pod spec of obj.
func containers(obj map[string]any) []map[string]any {
	var out []map[string]any
	for _, ps := range podSpecs(obj) {
		cs, _ := ps["containers"].([]any)
		for _, c := range cs {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// applyPatch applies a JSON patch (as the webhook returned it) to obj.
func applyPatch(obj map[string]any, patch []byte) (map[string]any, error) {
	doc, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	if len(patch) > 0 {
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, fmt.Errorf("decoding the webhook's patch: %w", err)
		}
		if doc, err = p.Apply(doc); err != nil {
			return nil, fmt.Errorf("applying the webhook's patch: %w", err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("decoding the patched object: %w", err)
	}
	return m, nil
}
