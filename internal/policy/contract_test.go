package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// suite is policies/rego/<package>/testdata/suite.yaml: allowed and denied
// samples per rule, as gatekeeper-library keeps them.
type suite struct {
	Rules []string `json:"rules"`
	Cases []struct {
		Name      string               `json:"name"`
		Rule      string               `json:"rule"`
		Want      string               `json:"want"` // deny, warn, allow
		AlsoDeny  []string             `json:"alsoDeny"`
		AlsoAllow []string             `json:"alsoAllow"`
		Groups    []string             `json:"groups"`
		Placement *placement.Placement `json:"placement"`
		Object    map[string]any       `json:"object"`
		// ExpectJurisdiction places the workload with the decision's
		// restrictions and checks where it lands.
		ExpectJurisdiction string `json:"expectJurisdiction"`
	} `json:"cases"`
}

const libraryDir = "../../policies/rego"

func readYAML[T any](t *testing.T, path string, parse func([]byte) (T, error)) T {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func TestContractSamples(t *testing.T) {
	ctx := context.Background()
	b := loadLibrary(t)
	regions := costing.DefaultRegions()
	state := readYAML(t, filepath.Join(libraryDir, "testdata/cluster-state.yaml"), func(raw []byte) (*encryption.ClusterState, error) {
		return encryption.ReadClusterState(bytesReader(raw))
	})
	inv := readYAML(t, filepath.Join(libraryDir, "testdata/inventory.yaml"), func(raw []byte) (*encryption.Inventory, error) {
		return encryption.ReadInventory(bytesReader(raw))
	})
	collector := &encryption.Collector{Claims: state, Datasets: inv, Jurisdictions: regions}
	extractor, err := workload.New(workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	placer := placement.New(cat, nil)

	suites, err := filepath.Glob(filepath.Join(libraryDir, "*/testdata/suite.yaml"))
	if err != nil || len(suites) < 4 {
		t.Fatalf("want a suite per package, found %v (%v)", suites, err)
	}
	for _, path := range suites {
		pkg := filepath.Base(filepath.Dir(filepath.Dir(path)))
		s := readYAML(t, path, func(raw []byte) (suite, error) {
			var s suite
			return s, yaml.UnmarshalStrict(raw, &s)
		})
		// Every rule needs a sample that triggers it and one that does not.
		for _, rule := range s.Rules {
			var hit, miss bool
			for _, c := range s.Cases {
				hit = hit || (c.Rule == rule && c.Want != "allow") || slices.Contains(c.AlsoDeny, rule)
				miss = miss || (c.Rule == rule || c.Rule == "*") && c.Want == "allow" || slices.Contains(c.AlsoAllow, rule)
			}
			if !hit || !miss {
				t.Errorf("%s: rule %s needs both a denied (or warned) and an allowed sample", pkg, rule)
			}
		}
		for _, c := range s.Cases {
			t.Run(pkg+"/"+c.Name, func(t *testing.T) {
				w, err := extractor.Extract(c.Object, nil)
				if err != nil {
					t.Fatalf("extracting: %v", err)
				}
				ev, err := collector.Collect(ctx, w)
				if err != nil {
					t.Fatal(err)
				}
				in := &Input{Request: Request{Groups: c.Groups}, Namespace: Namespace{Name: w.Namespace},
					Workload: NewWorkload(w), Evidence: *ev, Object: c.Object}
				e, err := b.Evaluate(ctx, in)
				if err != nil {
					t.Fatalf("evaluating: %v", err)
				}
				d := e.Decision
				if c.Placement != nil {
					if d, err = e.Placed(ctx, c.Placement); err != nil {
						t.Fatalf("evaluating with placement: %v", err)
					}
				}
				denied, warned := codes(d.Violations), codes(d.Warnings)
				switch c.Want {
				case "deny":
					if !slices.Contains(denied, c.Rule) {
						t.Errorf("want %s to deny; violations %v", c.Rule, d.Violations)
					}
				case "warn":
					if !slices.Contains(warned, c.Rule) || slices.Contains(denied, c.Rule) {
						t.Errorf("want %s to warn only; violations %v, warnings %v", c.Rule, d.Violations, d.Warnings)
					}
				case "allow":
					if c.Rule == "*" && len(denied) > 0 || slices.Contains(denied, c.Rule) || slices.Contains(warned, c.Rule) {
						t.Errorf("want %s to allow; violations %v, warnings %v", c.Rule, d.Violations, d.Warnings)
					}
				default:
					t.Fatalf("want: %q: want deny, warn or allow", c.Want)
				}
				for _, code := range c.AlsoDeny {
					if !slices.Contains(denied, code) {
						t.Errorf("want %s to deny too; violations %v", code, denied)
					}
				}
				for _, code := range c.AlsoAllow {
					if slices.Contains(denied, code) {
						t.Errorf("want %s to allow too; violations %v", code, denied)
					}
				}
				if c.ExpectJurisdiction != "" {
					res, err := placer.Place(&placement.Request{Workload: w, Restrictions: d.Restrictions})
					if err != nil {
						t.Fatalf("placing: %v", err)
					}
					if got := res.Best.Offer.Jurisdiction; got != c.ExpectJurisdiction {
						t.Errorf("placed in %s/%s (jurisdiction %s), want jurisdiction %s", res.Best.Offer.Cloud, res.Best.Offer.Region, got, c.ExpectJurisdiction)
					}
				}
			})
		}
	}
}
