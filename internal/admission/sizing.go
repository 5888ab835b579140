package admission

import (
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// errNotSizable marks a workload that asks for its replicas to be sized
// (quartermaster.io/replicas: auto) but has no single replica count to set.
var errNotSizable = errors.New("not sizable")

// placeSized places an inference workload whose replica count admission
// chooses: the offer and the count together, the cheapest that meets its
// latency SLO (placement.PlaceInference). The decision then records the
// count and the predicted p99, and the patch sets the count.
func placeSized(placer *placement.Placer, req *placement.Request, out *Outcome) (*placement.Result, error) {
	if _, err := sizedPodSet(req.Workload); err != nil {
		return nil, err
	}
	ip, err := placer.PlaceInference(req)
	if err != nil {
		return nil, err
	}
	inf := req.Workload.Inference
	msg := fmt.Sprintf("quartermaster: %s sized to %d replicas on %s: predicted p%g %v (objective %v)",
		out.Object, ip.Replicas, ip.Placement.GPUModel, 100*inf.SLOQuantile, ip.Latency.Round(100*time.Microsecond), inf.SLOLatency)
	if inf.SLOQuantile != 0.99 {
		msg += ", p99 " + ip.Placement.P99
	}
	out.Warnings = append(out.Warnings, msg)
	return &placement.Result{Best: ip.Placement}, nil
}

// sizedPodSet is the one GPU pod set whose replica count sizing sets, with
// a field to set it in.
func sizedPodSet(w *workload.Workload) (*workload.PodSet, error) {
	if w.Class != workload.Inference {
		return nil, fmt.Errorf("%w: %s: auto sizes inference workloads by their request rate, and this %s is %s (quartermaster.io/class)",
			errNotSizable, workload.AnnotationReplicas, w.Kind, w.Class)
	}
	var ps *workload.PodSet
	for i := range w.PodSets {
		if w.PodSets[i].GPU.Count == 0 {
			continue
		}
		if ps != nil {
			return nil, fmt.Errorf("%w: %s: auto sizes one GPU pod set, and %s has two (%s, %s); give their replica counts instead",
				errNotSizable, workload.AnnotationReplicas, w.Kind, ps.Name, w.PodSets[i].Name)
		}
		ps = &w.PodSets[i]
	}
	if ps == nil || ps.ReplicasPointer == "" {
		return nil, fmt.Errorf("%w: %s: auto needs a replica count field to set, and a %s has none (use a Deployment or StatefulSet)",
			errNotSizable, workload.AnnotationReplicas, w.Kind)
	}
	return ps, nil
}

// appendReplicas sets the sized pod set's replica count to the decision's,
// unless the object already has it (reinvocation leaves it alone).
func appendReplicas(ops []PatchOp, obj map[string]any, w *workload.Workload, d *Decision) []PatchOp {
	if d.Replicas == 0 {
		return ops
	}
	ps, err := sizedPodSet(w)
	if err != nil {
		return ops
	}
	if v, ok := pointerGet(obj, ps.ReplicasPointer).(float64); ok && int(v) == d.Replicas {
		return ops
	}
	return append(ops, PatchOp{Op: "add", Path: ps.ReplicasPointer, Value: d.Replicas})
}

// HeldGPUs is what an allowed outcome's decision holds against a quota:
// the key of its cloud, region and GPU model, and its whole GPUs (MIG
// slices are not whole GPUs). When sizing chose the replica count, it is
// that count's; a workload scaled to zero holds none. ok is false when the
// outcome holds nothing.
func (o *Outcome) HeldGPUs() (key quota.Key, gpus int64, ok bool) {
	d, w := o.Decision, o.Workload
	if !o.Allowed || d == nil || w == nil || d.ScaledToZero {
		return quota.Key{}, 0, false
	}
	gpus = w.WholeGPUs()
	if d.Replicas > 0 {
		if ps, err := sizedPodSet(w); err == nil && ps.GPU.MIG == nil {
			gpus += int64(d.Replicas-int(ps.Replicas)) * ps.GPU.Count
		}
	}
	if gpus <= 0 {
		return quota.Key{}, 0, false
	}
	return quota.Key{Cloud: d.Cloud, Region: d.Region, GPUModel: d.GPUModel}, gpus, true
}
