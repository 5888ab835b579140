package steps

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/milp"
	"github.com/quartermaster-io/quartermaster/internal/placement/batch"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// batchSteps place many workloads at once with the batch optimizer, as
// `qm optimize` does: each judged by the admission policies first, the
// denied left out, the others placed under their rules' restrictions.
var batchSteps = []step{
	{`^(\d+) one-hour Jobs of (\d+) "([^"]*)" GPUs each$`, oneHourJobs},
	{`^the last of them runs a privileged container$`, lastPrivileged},
	{`^the data of the last of them must stay in "([^"]*)"$`, lastResidency},
	{`^(\d+) of them (?:is|are) left out, denied with code "([^"]*)"$`, leftOut},
	{`^the last of them goes to "([^"]*)" "([^"]*)"$`, lastGoesTo},
	{`^they are placed together$`, placedTogether},
	{`^(\d+) GPU-hours go to "([^"]*)" and (\d+) to "([^"]*)"$`, gpuHoursSplit},
	{`^the total cost is ([\d.]+) dollars$`, totalCost},
	{`^the assignment is proven optimal$`, provenOptimal},
}

// batchObjects are the workloads of a batch scenario.
type batchKey struct{}

func oneHourJobs(ctx context.Context, n, gpus int, model string) (context.Context, error) {
	var objs []map[string]any
	for i := range n {
		obj, err := newWorkload("Job", gpus, 1, model)
		if err != nil {
			return ctx, err
		}
		metadata(obj)["name"] = fmt.Sprintf("eval-shard-%d", i)
		annotations(obj)[workload.AnnotationExpectedDuration] = "1h"
		objs = append(objs, obj)
	}
	return context.WithValue(ctx, batchKey{}, objs), nil
}

func batchObjects(ctx context.Context) ([]map[string]any, error) {
	objs, _ := ctx.Value(batchKey{}).([]map[string]any)
	if len(objs) == 0 {
		return nil, fmt.Errorf("the scenario describes no workloads to place together")
	}
	return objs, nil
}

func lastPrivileged(ctx context.Context) error {
	objs, err := batchObjects(ctx)
	if err != nil {
		return err
	}
	for _, c := range containers(objs[len(objs)-1]) {
		c["securityContext"] = map[string]any{"privileged": true}
	}
	return nil
}

func lastResidency(ctx context.Context, where string) error {
	objs, err := batchObjects(ctx)
	if err != nil {
		return err
	}
	annotations(objs[len(objs)-1])[workload.AnnotationResidency] = where
	return nil
}

// placedTogether judges each workload as qm optimize does (the engine's
// policy phase, Engine.Gang)
// and solves the batch of the allowed ones.
func placedTogether(ctx context.Context) error {
	w := get(ctx)
	objs, err := batchObjects(ctx)
	if err != nil {
		return err
	}
	e, err := w.engine()
	if err != nil {
		return err
	}
	req := &batch.Request{Usage: w.usage, Limits: milp.Limits{Time: time.Minute}}
	w.denied = nil
	for i, obj := range objs {
		g, err := e.Gang(ctx, &admission.Input{ID: fmt.Sprintf("batch-%d", i), Object: obj,
			Request: admission.RequestInfo{Username: w.user, Groups: w.groups}})
		if err != nil {
			return err
		}
		switch {
		case !g.Outcome.GPU:
		case g.Outcome.Denied():
			w.denied = append(w.denied, g.Outcome)
		default:
			req.Gangs = append(req.Gangs, batch.Gang{Workload: g.Workload, Restrictions: g.Restrictions, Current: g.Current})
		}
	}
	res, err := batch.Optimize(ctx, e.Placer(), req)
	if err != nil {
		return err
	}
	if len(res.Unplaceable) > 0 {
		return fmt.Errorf("unplaceable: %+v", res.Unplaceable)
	}
	w.batch = res
	return nil
}

func leftOut(ctx context.Context, n int, code string) error {
	w := get(ctx)
	if w.batch == nil {
		return fmt.Errorf("nothing was placed together")
	}
	if len(w.denied) != n {
		return fmt.Errorf("%d workloads left out, want %d", len(w.denied), n)
	}
	for _, o := range w.denied {
		if !o.HasCode(code) {
			return fmt.Errorf("%s left out for %+v, want code %s", o.Object, o.Violations, code)
		}
	}
	return nil
}

func lastGoesTo(ctx context.Context, cloud, region string) error {
	w := get(ctx)
	objs, err := batchObjects(ctx)
	if err != nil {
		return err
	}
	if w.batch == nil {
		return fmt.Errorf("nothing was placed together")
	}
	name := fmt.Sprint(metadata(objs[len(objs)-1])["name"])
	for _, a := range w.batch.Assignments {
		if strings.HasSuffix(a.Workload, "/"+name) {
			if a.Cloud != cloud || a.Region != region {
				return fmt.Errorf("%s goes to %s %s", a.Workload, a.Cloud, a.Region)
			}
			return nil
		}
	}
	return fmt.Errorf("no assignment for %s in %+v", name, w.batch.Assignments)
}

func gpuHoursSplit(ctx context.Context, a int, cloudA string, b int, cloudB string) error {
	res := get(ctx).batch
	if res == nil {
		return fmt.Errorf("nothing was placed together")
	}
	hours := map[string]float64{}
	for _, as := range res.Assignments {
		hours[as.Cloud] += float64(as.GPUs) * as.Hours
	}
	if math.Abs(hours[cloudA]-float64(a)) > 1e-9 || math.Abs(hours[cloudB]-float64(b)) > 1e-9 {
		return fmt.Errorf("GPU-hours per cloud: %v", hours)
	}
	return nil
}

func totalCost(ctx context.Context, want float64) error {
	res := get(ctx).batch
	if res == nil {
		return fmt.Errorf("nothing was placed together")
	}
	if math.Abs(res.TotalCost-want) > 1e-6 {
		return fmt.Errorf("total cost %v dollars", res.TotalCost)
	}
	return nil
}

func provenOptimal(ctx context.Context) error {
	res := get(ctx).batch
	if res == nil || !res.Optimal {
		return fmt.Errorf("not proven optimal: %+v", res)
	}
	return nil
}
