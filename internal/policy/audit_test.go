package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// auditSuite is policies/rego/audit/<package>/testdata/suite.yaml: for every
// audit rule, a resource that triggers it and one that does not, written as
// inventory records (docs/snapshot.md).
type auditSuite struct {
	Rules []string `json:"rules"`
	Cases []struct {
		Name     string          `json:"name"`
		Rule     string          `json:"rule"`
		Want     string          `json:"want"` // deny, warn, allow
		Severity string          `json:"severity"`
		Resource json.RawMessage `json:"resource"`
	} `json:"cases"`
}

// TestAuditContractSamples decodes every sample into the inventory's own
// Resource type (strictly: a field the type does not have fails), so that
// the names the rules read are the names the sources write, then audits it
// with the embedded library.
func TestAuditContractSamples(t *testing.T) {
	ctx := context.Background()
	b := loadLibrary(t)
	if got := b.AuditPackages(); len(got) != 5 {
		t.Errorf("audit packages %v, want 5", got)
	}
	suites, err := filepath.Glob(filepath.Join(libraryDir, "audit/*/testdata/suite.yaml"))
	if err != nil || len(suites) != 5 {
		t.Fatalf("want a suite per audit package, found %v (%v)", suites, err)
	}
	for _, path := range suites {
		pkg := filepath.Base(filepath.Dir(filepath.Dir(path)))
		s := readYAML(t, path, func(raw []byte) (auditSuite, error) {
			var s auditSuite
			return s, yaml.UnmarshalStrict(raw, &s)
		})
		for _, rule := range s.Rules {
			var hit, miss bool
			for _, c := range s.Cases {
				hit = hit || c.Rule == rule && c.Want != "allow"
				miss = miss || c.Rule == rule && c.Want == "allow"
			}
			if !hit || !miss {
				t.Errorf("audit %s: rule %s needs both a triggering and a passing sample", pkg, rule)
			}
		}
		for _, c := range s.Cases {
			t.Run(pkg+"/"+c.Name, func(t *testing.T) {
				var r inventory.Resource
				dec := json.NewDecoder(bytes.NewReader(c.Resource))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&r); err != nil {
					t.Fatalf("the sample is not an inventory record: %v", err)
				}
				if err := r.Validate(); err != nil {
					t.Fatalf("the sample is not a valid inventory record: %v", err)
				}
				findings, err := b.Audit(ctx, &r)
				if err != nil {
					t.Fatal(err)
				}
				if len(findings) > 0 && !b.MayAudit(string(r.Kind), r.Labels) {
					t.Errorf("MayAudit skips a resource with findings %+v", findings)
				}
				var got *AuditFinding
				for i := range findings {
					if findings[i].Code == c.Rule {
						got = &findings[i]
					}
				}
				switch c.Want {
				case "allow":
					if got != nil {
						t.Errorf("want %s not to report; got %+v", c.Rule, *got)
					}
				case "deny", "warn":
					if got == nil {
						t.Fatalf("want %s to report; findings %+v", c.Rule, findings)
					}
					if got.Severity != c.Severity || got.Policy != "quartermaster.audit."+pkg || got.Remediation == "" ||
						!strings.Contains(got.Msg, r.ID) {
						t.Errorf("finding %+v: want severity %s, policy quartermaster.audit.%s, a remediation and the resource named", *got, c.Severity, pkg)
					}
				default:
					t.Fatalf("want: %q", c.Want)
				}
			})
		}
	}
}

// Audit packages never take part in admission, and admission packages never
// in an audit.
func TestAuditAndAdmissionAreSeparate(t *testing.T) {
	b := loadLibrary(t)
	for _, p := range b.Packages() {
		if strings.HasPrefix(p, "quartermaster.audit") {
			t.Errorf("admission evaluates audit package %s", p)
		}
	}
	// A workload-shaped input gives no audit finding even where an
	// admission rule would deny it.
	f, err := b.Audit(context.Background(), map[string]any{"kind": "Pod", "id": "ml/p"})
	if err != nil || len(f) != 0 {
		t.Errorf("audit of a non-inventory input: %v, %v", f, err)
	}
}

func TestAuditElementChecks(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		rule, want string
	}{
		"restrict refused": {`restrict contains {"field": "cloud", "allowed": ["aws"], "reason": "r"} if true`, "audit packages judge what exists"},
		"bad severity":     {`deny contains {"code": "c", "msg": "m", "severity": "urgent"} if true`, "severity: want one of"},
		"no msg":           {`deny contains {"code": "c"} if true`, "want non-empty string code and msg"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := LoadFiles(ctx, map[string][]byte{
				"a.rego": []byte("package quartermaster.audit.t\n\n" + tc.rule + "\n"),
				"p.rego": []byte(denyAll),
			}, Options{Regions: costing.DefaultRegions()})
			if err == nil {
				_, err = b.Audit(ctx, map[string]any{"kind": "Disk"})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
