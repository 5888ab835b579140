package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"
	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// state is one scenario's world, carried in the context.
type state struct {
	catalog      *costing.Catalog
	quotas       placement.GPUCounts
	usage        placement.GPUCounts
	restrictions *placement.Restrictions
	object       map[string]any
	outcome      *admission.Outcome
}

type stateKey struct{}

func get(ctx context.Context) *state { return ctx.Value(stateKey{}).(*state) }

// Register wires the steps and the per-scenario state.
func Register(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		cat, err := costing.DefaultCatalog()
		if err != nil {
			return ctx, err
		}
		return context.WithValue(ctx, stateKey{}, &state{catalog: cat, quotas: placement.GPUCounts{}, usage: placement.GPUCounts{}}), nil
	})
	sc.Given(`^a catalog with these offers:$`, aCatalogWithTheseOffers)
	sc.Given(`^a quota of (\d+) "([^"]*)" GPUs in "([^"]*)" "([^"]*)"$`, aQuota)
	sc.Given(`^(\d+) "([^"]*)" GPUs are already in use in "([^"]*)" "([^"]*)"$`, inUse)
	sc.Given(`^a GPU Job with (\d+) replicas of (\d+) "([^"]*)" GPUs$`, aGPUJob)
	sc.Given(`^a Deployment without GPUs$`, aDeploymentWithoutGPUs)
	sc.Given(`^the workload is interruptible$`, interruptible)
	sc.Given(`^the workload pins region "([^"]*)"$`, pinsRegion)
	sc.Given(`^placement is restricted to jurisdiction "([^"]*)" by policy "([^"]*)"$`, restrictedTo)
	sc.When(`^it is admitted$`, admitted)
	sc.Then(`^it is allowed$`, isAllowed)
	sc.Then(`^it is denied with code "([^"]*)"$`, deniedWithCode)
	sc.Then(`^it is placed in "([^"]*)" "([^"]*)" on "([^"]*)" as "([^"]*)"$`, placedIn)
	sc.Then(`^it uses (\d+) nodes at ([\d.]+) dollars per hour$`, usesNodes)
	sc.Then(`^the pods tolerate spot nodes$`, toleratesSpot)
	sc.Then(`^the decision names policy "([^"]*)"$`, decisionNamesPolicy)
	sc.Then(`^there is no feasible placement because of "([^"]*)"$`, noFeasible)
	sc.Then(`^nothing is patched$`, nothingPatched)
	sc.Then(`^admitting the mutated object again changes nothing$`, reinvocationIsIdempotent)
}

func aCatalogWithTheseOffers(ctx context.Context, table *godog.Table) error {
	if len(table.Rows) < 2 {
		return errors.New("the offer table needs a header and rows")
	}
	col := map[string]int{}
	for i, c := range table.Rows[0].Cells {
		col[c.Value] = i
	}
	num := func(row *messages.PickleTableRow, name string) (float64, error) {
		v := row.Cells[col[name]].Value
		if v == "" {
			return 0, nil
		}
		return strconv.ParseFloat(v, 64)
	}
	var offers []costing.Offer
	for _, row := range table.Rows[1:] {
		o := costing.Offer{Cloud: row.Cells[col["cloud"]].Value, Region: row.Cells[col["region"]].Value,
			InstanceType: row.Cells[col["instance type"]].Value, GPUModel: row.Cells[col["gpu model"]].Value}
		var gpus float64
		var err error
		for name, dst := range map[string]*float64{"gpus": &gpus, "vcpus": &o.VCPUs, "memory gib": &o.MemoryGiB,
			"price": &o.PriceHourly, "spot price": &o.SpotPriceHourly} {
			if *dst, err = num(row, name); err != nil {
				return fmt.Errorf("column %s: %w", name, err)
			}
		}
		o.GPUCount = int(gpus)
		offers = append(offers, o)
	}
	cat, err := costing.NewCatalog(offers, nil, costing.Meta{AsOf: "feature"})
	if err != nil {
		return err
	}
	get(ctx).catalog = cat
	return nil
}

func aQuota(ctx context.Context, gpus int, model, cloud, region string) error {
	get(ctx).quotas[placement.QuotaKey{Cloud: cloud, Region: region, GPUModel: model}] = int64(gpus)
	return nil
}

func inUse(ctx context.Context, gpus int, model, cloud, region string) error {
	get(ctx).usage[placement.QuotaKey{Cloud: cloud, Region: region, GPUModel: model}] = int64(gpus)
	return nil
}

func aGPUJob(ctx context.Context, replicas, gpus int, model string) error {
	get(ctx).object = map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "train", "namespace": "ml",
			"annotations": map[string]any{workload.AnnotationGPUModels: model}},
		"spec": map[string]any{"parallelism": float64(replicas), "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "train", "image": "ghcr.io/example/train:1",
				"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": float64(gpus)}}}},
		}}},
	}
	return nil
}

func aDeploymentWithoutGPUs(ctx context.Context) error {
	get(ctx).object = map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "web", "image": "nginx:1.27"}}}}},
	}
	return nil
}

func annotations(obj map[string]any) map[string]any {
	return obj["metadata"].(map[string]any)["annotations"].(map[string]any)
}

func podSpec(obj map[string]any) map[string]any {
	return obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
}

func interruptible(ctx context.Context) error {
	annotations(get(ctx).object)[workload.AnnotationInterruptible] = "true"
	return nil
}

func pinsRegion(ctx context.Context, region string) error {
	podSpec(get(ctx).object)["nodeSelector"] = map[string]any{workload.DefaultLabelKeys().Region: region}
	return nil
}

func restrictedTo(ctx context.Context, jurisdiction, policy string) error {
	s := get(ctx)
	if s.restrictions == nil {
		s.restrictions = &placement.Restrictions{}
	}
	s.restrictions.Restrict(placement.FieldJurisdiction, []string{jurisdiction}, "data must stay in "+jurisdiction, policy)
	return nil
}

func evaluate(s *state, obj map[string]any) (*admission.Outcome, error) {
	x, err := workload.New(workload.Options{})
	if err != nil {
		return nil, err
	}
	ev, err := admission.NewEvaluator(admission.Deps{Extractor: x, Placer: placement.New(s.catalog, s.quotas)})
	if err != nil {
		return nil, err
	}
	return ev.Evaluate(context.Background(), &admission.Input{ID: "feature", Object: obj, Restrictions: s.restrictions, Usage: s.usage})
}

func admitted(ctx context.Context) error {
	s := get(ctx)
	out, err := evaluate(s, s.object)
	s.outcome = out
	return err
}

func isAllowed(ctx context.Context) error {
	if o := get(ctx).outcome; !o.Allowed {
		return fmt.Errorf("denied: %+v", o.Violations)
	}
	return nil
}

func deniedWithCode(ctx context.Context, code string) error {
	o := get(ctx).outcome
	if o.Allowed || !o.HasCode(code) {
		return fmt.Errorf("want a denial with code %s, got allowed=%v violations=%+v", code, o.Allowed, o.Violations)
	}
	return nil
}

func placedIn(ctx context.Context, cloud, region, instanceType, capacity string) error {
	d := get(ctx).outcome.Decision
	if d == nil {
		return fmt.Errorf("no placement: %+v", get(ctx).outcome.Violations)
	}
	if d.Cloud != cloud || d.Region != region || d.InstanceType != instanceType || d.CapacityType != capacity {
		return fmt.Errorf("placed in %s %s on %s as %s", d.Cloud, d.Region, d.InstanceType, d.CapacityType)
	}
	return nil
}

func usesNodes(ctx context.Context, nodes int, perHour float64) error {
	d := get(ctx).outcome.Decision
	if d.Nodes != nodes || math.Abs(d.PricePerHour-perHour) > 1e-9 {
		return fmt.Errorf("%d nodes at %v/h", d.Nodes, d.PricePerHour)
	}
	return nil
}

func mutated(s *state) (map[string]any, error) {
	doc, _ := json.Marshal(s.object)
	raw, _ := json.Marshal(s.outcome.Patch)
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		return nil, err
	}
	out, err := p.Apply(doc)
	if err != nil {
		return nil, fmt.Errorf("applying the patch: %w", err)
	}
	var m map[string]any
	return m, json.Unmarshal(out, &m)
}

func toleratesSpot(ctx context.Context) error {
	m, err := mutated(get(ctx))
	if err != nil {
		return err
	}
	keys := workload.DefaultLabelKeys()
	for _, t := range podSpec(m)["tolerations"].([]any) {
		if t.(map[string]any)["key"] == keys.SpotTaint {
			return nil
		}
	}
	return errors.New("no spot toleration in the mutated pod template")
}

func decisionNamesPolicy(ctx context.Context, policy string) error {
	if d := get(ctx).outcome.Decision; !slices.Contains(d.Policies, policy) {
		return fmt.Errorf("decision policies %v lack %s", d.Policies, policy)
	}
	return nil
}

func noFeasible(ctx context.Context, stage string) error {
	o := get(ctx).outcome
	if !o.NoPlacement || !o.HasCode(admission.CodeNoFeasiblePlacement) {
		return fmt.Errorf("want no feasible placement, got %+v", o)
	}
	_, err := placement.New(get(ctx).catalog, get(ctx).quotas).Place(&placement.Request{Workload: o.Workload, Usage: get(ctx).usage, Restrictions: get(ctx).restrictions})
	var nf *placement.NoFeasibleError
	if !errors.As(err, &nf) || nf.Stage != stage {
		return fmt.Errorf("want stage %s, got %v", stage, err)
	}
	return nil
}

func nothingPatched(ctx context.Context) error {
	if p := get(ctx).outcome.Patch; len(p) != 0 {
		return fmt.Errorf("patched: %+v", p)
	}
	return nil
}

func reinvocationIsIdempotent(ctx context.Context) error {
	s := get(ctx)
	m, err := mutated(s)
	if err != nil {
		return err
	}
	again, err := evaluate(s, m)
	if err != nil {
		return err
	}
	if len(again.Patch) != 0 {
		return fmt.Errorf("second admission patched again: %+v", again.Patch)
	}
	return nil
}
