// Package arch checks the import graph docs/architecture.md draws: it
// fails when a package reaches one it must not, so that the picture stays
// true as the code changes.
package arch

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/quartermaster-io/quartermaster/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list runs go list -deps on the module's packages: real, compiled import
// graphs rather than a hand-kept table.
func list(t *testing.T, patterns ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, patterns...)...)
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func own(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasPrefix(p, module) {
			out = append(out, strings.TrimPrefix(p, module))
		}
	}
	return out
}

// The webhook links neither the solver nor the auditor, the price
// refreshers or any cloud SDK: what sits in the admission path of a
// production cluster is what admission needs.
func TestWebhookLinksOnlyAdmission(t *testing.T) {
	p := list(t, "./cmd/webhook")["cmd/webhook"]
	forbidden := []string{
		module + "internal/milp", module + "internal/placement/batch", module + "internal/inventory",
		module + "internal/audit", module + "internal/report", module + "internal/pricing",
		"github.com/aws/aws-sdk-go-v2", "github.com/Azure/azure-sdk-for-go", "cloud.google.com/go", "google.golang.org/api",
	}
	for _, d := range p.Deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("cmd/webhook links %s", d)
			}
		}
	}
	if len(p.Deps) == 0 {
		t.Fatal("no dependencies listed")
	}
}

// Imports go one way: each package may import only the project packages
// listed for it (and their leaves); a new edge is a decision for
// docs/architecture.md, not an accident.
func TestImportsGoOneWay(t *testing.T) {
	allowed := map[string][]string{
		"internal/costing":              {},
		"internal/jsonschema":           {},
		"internal/quota":                {"internal/costing"},
		"internal/queueing":             {},
		"internal/milp":                 {},
		"internal/inventory":            {},
		"internal/decisionlog":          {},
		"internal/certwatch":            {},
		"internal/workload":             {"internal/costing"},
		"internal/encryption":           {"internal/workload"},
		"internal/placement":            {"internal/costing", "internal/queueing", "internal/quota", "internal/workload"},
		"internal/placement/batch":      {"internal/costing", "internal/milp", "internal/placement", "internal/quota", "internal/workload"},
		"internal/policy":               {"internal/costing", "internal/encryption", "internal/jsonschema", "internal/placement", "internal/workload"},
		"internal/admission":            {"internal/costing", "internal/decisionlog", "internal/encryption", "internal/placement", "internal/policy", "internal/quota", "internal/workload"},
		"internal/clusterstate":         {"internal/costing", "internal/encryption", "internal/placement", "internal/quota", "internal/workload"},
		"internal/reload":               {"internal/costing", "internal/placement", "internal/quota"},
		"internal/audit":                {"internal/admission", "internal/costing", "internal/inventory", "internal/policy"},
		"internal/report":               {"internal/audit", "internal/inventory", "internal/jsonschema", "internal/policy"},
		"internal/pricing":              {"internal/costing"},
		"internal/inventory/aws":        {"internal/costing", "internal/inventory"},
		"internal/inventory/azure":      {"internal/costing", "internal/inventory"},
		"internal/inventory/gcp":        {"internal/costing", "internal/inventory"},
		"internal/inventory/prometheus": {"internal/inventory"},
	}
	pkgs := list(t, "./internal/...", "./cmd/...")
	for name, p := range pkgs {
		if strings.HasPrefix(name, "cmd/") {
			continue
		}
		for _, imp := range own(p.Imports) {
			if strings.HasPrefix(imp, "cmd/") {
				t.Errorf("%s imports %s: nothing imports a command", name, imp)
			}
			if (imp == "internal/engine" || imp == "internal/auditrun") && !strings.HasPrefix(name, "internal/auditrun") {
				t.Errorf("%s imports %s: only the commands (and the audit run) wire the engine", name, imp)
			}
		}
		want, listed := allowed[name]
		if !listed {
			continue // the wiring packages (engine, auditrun) and test helpers
		}
		for _, imp := range own(p.Imports) {
			if !slices.Contains(want, imp) {
				t.Errorf("%s imports %s; allowed: %v", name, imp, want)
			}
		}
	}
	for name := range allowed {
		if _, ok := pkgs[name]; !ok {
			t.Errorf("the rule for %s names a package that does not exist", name)
		}
	}
}
