package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// workloadSteps describe the object submitted, in its author's words.
var workloadSteps = []step{
	{`^an? (Pod|Job|CronJob|Deployment|StatefulSet|ReplicaSet|PyTorchJob|RayCluster) requesting (\d+) replicas? of (\d+) "([^"]*)" GPUs?$`, aWorkload},
	{`^an? (Pod|Job|CronJob|Deployment|StatefulSet|ReplicaSet|PyTorchJob|RayCluster) requesting (\d+) replicas? of (\d+) GPUs? of any model$`, aWorkloadAnyModel},
	{`^a Deployment without GPUs$`, aDeploymentWithoutGPUs},
	{`^a "([^"]*)" of API "([^"]*)" that no workload rule describes, asking for (\d+) "([^"]*)"$`, anUndescribedKind},
	{`^it is interruptible$`, interruptible},
	{`^it belongs to team "([^"]*)"$`, belongsToTeam},
	{`^it names no team$`, namesNoTeam},
	{`^it runs in namespace "([^"]*)"$`, runsInNamespace},
	{`^its data is classified "([^"]*)"$`, classified},
	{`^its data must stay in "([^"]*)"$`, residency},
	{`^it reads the dataset "([^"]*)"$`, readsDataset},
	{`^it mounts the volume claim "([^"]*)"$`, mountsClaim},
	{`^it runs the image "([^"]*)"$`, runsImage},
	{`^it runs as the default service account$`, defaultServiceAccount},
	{`^it runs a privileged container$`, privileged},
	{`^it uses the host network$`, hostNetwork},
	{`^it uses the host PID namespace$`, hostPID},
	{`^it mounts the host path "([^"]*)"$`, hostPath},
	{`^it is submitted by a member of "([^"]*)"$`, memberOf},
	{`^it expects to run for (\S+)$`, expectedDuration},
	{`^it accepts the GPU models "([^"]*)"$`, acceptsModels},
	{`^it pins region "([^"]*)"$`, pinsRegion},
	{`^its annotation "([^"]*)" is "([^"]*)"$`, setAnnotation},
	{`^it serves (\S+) requests per second at (\S+) per request with a p99 objective of (\S+)$`, servesRequests},
	{`^it leaves its replica count to admission$`, autoReplicas},
	{`^it carries a decision annotation copied from another workload placing it in "([^"]*)" "([^"]*)"$`, forgedDecision},
}

func (w *world) obj() (map[string]any, error) {
	if w.object == nil {
		return nil, errors.New("the scenario has not described a workload yet")
	}
	return w.object, nil
}

// edit runs f on the scenario's object.
func edit(ctx context.Context, f func(obj map[string]any) error) error {
	obj, err := get(ctx).obj()
	if err != nil {
		return err
	}
	return f(obj)
}

// editContainers runs f on every container of the object.
func editContainers(ctx context.Context, f func(c map[string]any)) error {
	return edit(ctx, func(obj map[string]any) error {
		for _, c := range containers(obj) {
			f(c)
		}
		return nil
	})
}

// editGPUPodSpecs runs f on every pod spec that asks for GPUs.
func editGPUPodSpecs(ctx context.Context, f func(ps map[string]any)) error {
	return edit(ctx, func(obj map[string]any) error {
		specs := gpuPodSpecs(obj)
		if len(specs) == 0 {
			return errors.New("the workload has no GPU pod spec")
		}
		for _, ps := range specs {
			f(ps)
		}
		return nil
	})
}

func aWorkload(ctx context.Context, kind string, replicas, gpus int, model string) error {
	obj, err := newWorkload(kind, replicas, gpus, model)
	get(ctx).object = obj
	return err
}

func aWorkloadAnyModel(ctx context.Context, kind string, replicas, gpus int) error {
	return aWorkload(ctx, kind, replicas, gpus, "")
}

func aDeploymentWithoutGPUs(ctx context.Context) error {
	obj, err := newWorkload("Deployment", 2, 0, "")
	if err != nil {
		return err
	}
	metadata(obj)["name"], metadata(obj)["namespace"] = "web", "shop"
	delete(metadata(obj), "annotations")
	get(ctx).object = obj
	return nil
}

// anUndescribedKind is an object of a kind no workload rule describes,
// with a pod spec asking for GPUs under spec.runner.
func anUndescribedKind(ctx context.Context, kind, apiVersion string, n int, resource string) error {
	tmpl := podTemplate(0)
	tmpl["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["resources"] =
		map[string]any{"limits": map[string]any{resource: float64(n)}}
	get(ctx).object = map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": "mystery", "namespace": defaultNamespace},
		"spec":     map[string]any{"runner": map[string]any{"template": tmpl}}}
	return nil
}

func setAnnotation(ctx context.Context, key, value string) error {
	return edit(ctx, func(obj map[string]any) error {
		annotations(obj)[key] = value
		return nil
	})
}

func interruptible(ctx context.Context) error {
	return setAnnotation(ctx, workload.AnnotationInterruptible, "true")
}

func belongsToTeam(ctx context.Context, team string) error {
	return setAnnotation(ctx, workload.AnnotationTeam, team)
}

func namesNoTeam(ctx context.Context) error {
	return edit(ctx, func(obj map[string]any) error {
		delete(annotations(obj), workload.AnnotationTeam)
		return nil
	})
}

func runsInNamespace(ctx context.Context, ns string) error {
	return edit(ctx, func(obj map[string]any) error {
		metadata(obj)["namespace"] = ns
		return nil
	})
}

func classified(ctx context.Context, class string) error {
	return setAnnotation(ctx, workload.AnnotationDataClassification, class)
}

func residency(ctx context.Context, where string) error {
	return setAnnotation(ctx, workload.AnnotationResidency, where)
}

func readsDataset(ctx context.Context, loc string) error {
	return edit(ctx, func(obj map[string]any) error {
		a := annotations(obj)
		if old, _ := a[workload.AnnotationDatasets].(string); old != "" {
			loc = old + "," + loc
		}
		a[workload.AnnotationDatasets] = loc
		return nil
	})
}

func mountsClaim(ctx context.Context, claim string) error {
	return editGPUPodSpecs(ctx, func(ps map[string]any) {
		vols, _ := ps["volumes"].([]any)
		ps["volumes"] = append(vols, map[string]any{"name": claim, "persistentVolumeClaim": map[string]any{"claimName": claim}})
	})
}

func hostPath(ctx context.Context, path string) error {
	return editGPUPodSpecs(ctx, func(ps map[string]any) {
		vols, _ := ps["volumes"].([]any)
		ps["volumes"] = append(vols, map[string]any{"name": "host", "hostPath": map[string]any{"path": path}})
	})
}

func runsImage(ctx context.Context, image string) error {
	return editContainers(ctx, func(c map[string]any) { c["image"] = image })
}

func defaultServiceAccount(ctx context.Context) error {
	return edit(ctx, func(obj map[string]any) error {
		for _, ps := range podSpecs(obj) {
			delete(ps, "serviceAccountName")
		}
		return nil
	})
}

func privileged(ctx context.Context) error {
	return editContainers(ctx, func(c map[string]any) {
		c["securityContext"] = map[string]any{"privileged": true}
	})
}

func hostNetwork(ctx context.Context) error {
	return editGPUPodSpecs(ctx, func(ps map[string]any) { ps["hostNetwork"] = true })
}

func hostPID(ctx context.Context) error {
	return editGPUPodSpecs(ctx, func(ps map[string]any) { ps["hostPID"] = true })
}

func memberOf(ctx context.Context, group string) error {
	w := get(ctx)
	w.groups = append(w.groups, group)
	return nil
}

func expectedDuration(ctx context.Context, d string) error {
	return setAnnotation(ctx, workload.AnnotationExpectedDuration, d)
}

func acceptsModels(ctx context.Context, models string) error {
	return setAnnotation(ctx, workload.AnnotationGPUModels, models)
}

func pinsRegion(ctx context.Context, region string) error {
	return editGPUPodSpecs(ctx, func(ps map[string]any) {
		ps["nodeSelector"] = map[string]any{workload.DefaultLabelKeys().Region: region}
	})
}

// servesRequests sets the inference sizing inputs: rate, service time
// ("120ms@L4") and the p99 objective.
func servesRequests(ctx context.Context, rate, serviceTime, p99 string) error {
	return edit(ctx, func(obj map[string]any) error {
		a := annotations(obj)
		a[workload.AnnotationRequestRate] = rate
		a[workload.AnnotationServiceTime] = serviceTime
		a[workload.AnnotationLatencySLO] = "p99=" + p99
		return nil
	})
}

// autoReplicas sets quartermaster.io/replicas: auto.
func autoReplicas(ctx context.Context) error {
	return setAnnotation(ctx, workload.AnnotationReplicas, "auto")
}

// forgedDecision writes a decision annotation the webhook never made, as
// if copied from another workload's manifest.
func forgedDecision(ctx context.Context, cloud, region string) error {
	raw, err := json.Marshal(&admission.Decision{ID: "copied", Placement: placement.Placement{Cloud: cloud, Region: region,
		InstanceType: "p5.48xlarge", GPUModel: "H100", GPUsPerNode: 8, Nodes: 1, CapacityType: costing.OnDemand},
		Fingerprint: strings.Repeat("0", 64)})
	if err != nil {
		return fmt.Errorf("encoding the copied decision: %w", err)
	}
	return setAnnotation(ctx, workload.AnnotationDecision, string(raw))
}
