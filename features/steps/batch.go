package steps

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// batchSteps place many workloads at once with the batch optimizer, as
// `qm optimize` does.
var batchSteps = []step{
	{`^(\d+) one-hour Jobs of (\d+) "([^"]*)" GPUs each$`, oneHourJobs},
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

func placedTogether(ctx context.Context) error {
	w := get(ctx)
	objs, _ := ctx.Value(batchKey{}).([]map[string]any)
	if len(objs) == 0 {
		return fmt.Errorf("the scenario describes no workloads to place together")
	}
	x, err := workload.New(workload.Options{Jurisdictions: jurisdictions(w.catalog), Rules: workload.WithDefaultRules(nil)})
	if err != nil {
		return err
	}
	req := &placement.BatchRequest{Usage: w.usage, Limits: placement.Limits{Time: time.Minute}}
	for _, obj := range objs {
		wl, err := x.Extract(obj, nil)
		if err != nil {
			return err
		}
		req.Gangs = append(req.Gangs, placement.Gang{Workload: wl, Restrictions: &placement.Restrictions{}})
	}
	res, err := placement.New(w.catalog, w.quotas).Optimize(ctx, req)
	if err != nil {
		return err
	}
	if len(res.Unplaceable) > 0 {
		return fmt.Errorf("unplaceable: %+v", res.Unplaceable)
	}
	w.batch = res
	return nil
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
