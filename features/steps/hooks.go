package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
	"github.com/quartermaster-io/quartermaster/policies"
)

// Options choose what the steps run against. The zero value is the product
// as shipped: the embedded default policy library and catalog.
type Options struct {
	// Policies is the policy bundle to load through policy.Load, as qm eval
	// and the webhook load theirs; nil is the embedded library
	// (policies.FS()). The broken-policy test points it at an edited copy.
	Policies fs.FS
	// Cluster, when set, is the real cluster of the @cluster scenarios
	// (the e2e suite sets it); nil leaves their cluster steps failing.
	Cluster *Cluster
}

// Hooks give each scenario a fresh world over one policy bundle, loaded
// once (as the binaries load theirs) and shared by every scenario.
type Hooks struct {
	fsys    fs.FS
	cluster *Cluster
	bundle  func() (*policy.Bundle, error)
	// scenarios numbers the scenarios, for their cluster namespaces.
	scenarios atomic.Int64
}

// NewHooks returns the hooks for o.
func NewHooks(o Options) *Hooks {
	fsys := o.Policies
	if fsys == nil {
		fsys = policies.FS()
	}
	return &Hooks{fsys: fsys, cluster: o.Cluster, bundle: sync.OnceValues(func() (*policy.Bundle, error) {
		b, err := policy.Load(context.Background(), fsys, policy.Options{Regions: costing.DefaultRegions()})
		if err != nil {
			return nil, fmt.Errorf("loading the policy library: %w", err)
		}
		return b, nil
	})}
}

// Register adds the Before hook that puts the scenario's world in ctx and
// the After hook that cleans it up.
func (h *Hooks) Register(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		onCluster := slices.ContainsFunc(s.Tags, func(t *messages.PickleTag) bool { return t.Name == "@cluster" })
		if onCluster && h.cluster == nil {
			return ctx, fmt.Errorf("%w: a @cluster scenario needs the local control plane; make e2e runs it (test/e2e)", godog.ErrSkip)
		}
		b, err := h.bundle()
		if err != nil {
			return ctx, err
		}
		dir, err := os.MkdirTemp("", "qm-feature-")
		if err != nil {
			return ctx, err
		}
		w := &world{
			bundle: b, policyFS: h.fsys, cluster: h.cluster, quotas: quota.GPUCounts{}, usage: quota.GPUCounts{},
			deadline: 30 * time.Second, dir: dir, user: "alice@example.com", labelProfile: workload.ProfileQuartermaster,
		}
		if onCluster {
			// Each cluster scenario works in a namespace of its own.
			if err := w.setUpNamespace(ctx, fmt.Sprintf("qm-feature-%d-%d", os.Getpid(), h.scenarios.Add(1))); err != nil {
				return ctx, errors.Join(err, w.close())
			}
		}
		return context.WithValue(ctx, worldKey{}, w), nil
	})
	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		w, ok := ctx.Value(worldKey{}).(*world)
		if !ok {
			return ctx, nil
		}
		if w.clusterNS != "" {
			// Not waited for: the next scenario has a namespace of its own.
			if _, errOut, err := w.kubectl(ctx, nil, "delete", "namespace", w.clusterNS, "--wait=false"); err != nil {
				return ctx, fmt.Errorf("deleting namespace %s: %v: %s", w.clusterNS, err, errOut)
			}
		}
		// The scenario's own error is godog's to report; the hook reports
		// only its own.
		return ctx, w.close()
	})
}

var shipped = NewHooks(Options{})

// RegisterHooks adds the hooks for the product as shipped: the embedded
// default policy library.
func RegisterHooks(sc *godog.ScenarioContext) { shipped.Register(sc) }

// RegisterSteps adds every step definition.
func RegisterSteps(sc *godog.ScenarioContext) {
	for _, d := range definitions {
		sc.Step(d.pattern, d.fn)
	}
}

// Patterns lists the regular expressions of every step definition, for the
// test that each is used by some scenario.
func Patterns() []string {
	out := make([]string, len(definitions))
	for i, d := range definitions {
		out[i] = d.pattern
	}
	return out
}

type worldKey struct{}

// get returns the scenario's world; the Before hook always sets it.
func get(ctx context.Context) *world { return ctx.Value(worldKey{}).(*world) }

// step is one step definition: a pattern and the function it runs.
type step struct {
	pattern string
	fn      any
}

// definitions are all the steps, grouped by what they describe; each group
// lives in its own file, joined here in a fixed order.
var definitions = join(
	catalogSteps,
	workloadSteps,
	admissionSteps,
	updateSteps,
	webhookSteps,
	profileSteps,
	policyConfigSteps,
	clusterSteps,
	reloadSteps,
	logSteps,
	batchSteps,
)

func join(groups ...[]step) []step {
	var out []step
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
