package policy

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Audit severities, from the OpenReports result severities. A deny element
// without one is SeverityHigh, a warn element SeverityMedium.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityInfo     = "info"
)

// Severities lists the severities from the most to the least severe.
var Severities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// AuditFinding is one result of an audit rule on one resource.
type AuditFinding struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
	// Policy is the package, e.g. quartermaster.audit.encryption.
	Policy   string `json:"policy"`
	Severity string `json:"severity"`
	// Remediation is what to do about it, when the rule says.
	Remediation string `json:"remediation,omitempty"`
}

// The optional keys of an audit element besides code and msg.
var (
	keySeverity    = ast.StringTerm("severity")
	keyRemediation = ast.StringTerm("remediation")
	keyResource    = ast.StringTerm("resource")
)

// HasAudit reports whether the bundle has audit packages
// (quartermaster.audit.*) with deny or warn rules.
func (b *Bundle) HasAudit() bool { return b.audit != nil }

// AuditPackages lists the audit packages with deny or warn rules.
func (b *Bundle) AuditPackages() []string {
	var out []string
	if b.audit != nil {
		for _, s := range b.audit.slots {
			if !slices.Contains(out, s.pkg) {
				out = append(out, s.pkg)
			}
		}
	}
	return out
}

// Audit runs the audit packages over one resource, which the rules read as
// input.resource (an inventory record: docs/snapshot.md). Elements are
// {"code", "msg"} as in admission, with an optional "severity" (critical,
// high, medium, low, info) and "remediation". Findings come sorted by
// policy, code and message. An *EvalError means the rules could not be
// evaluated on this resource.
func (b *Bundle) Audit(ctx context.Context, resource any) ([]AuditFinding, error) {
	if b.audit == nil {
		return nil, nil
	}
	// Only the parts of the resource some rule reads are converted, as for
	// admission's input (inputvalue.go): the record's other kinds' parts
	// and its labels when no rule reads them.
	sel := b.fields.child("resource")
	if sel == nil {
		sel = &inputFields{keys: map[string]*inputFields{}}
	}
	v, err := selectedValue(reflect.ValueOf(resource), sel)
	if err != nil {
		return nil, &EvalError{Revision: b.revision, Err: fmt.Errorf("converting resource: %w", err)}
	}
	result, err := b.audit.eval(ctx, ast.NewObject([2]*ast.Term{keyResource, ast.NewTerm(v)}))
	if err != nil {
		return nil, &EvalError{Revision: b.revision, Err: err}
	}
	var out []AuditFinding
	for _, s := range b.audit.slots {
		set, err := result.set(s)
		if err != nil {
			return nil, &EvalError{Revision: b.revision, Err: err}
		}
		err = set.Iter(func(item *ast.Term) error {
			f, err := finding(s, item)
			if err != nil {
				return err
			}
			obj := item.Value.(ast.Object) // finding checked it
			a := AuditFinding{Code: f.Code, Msg: f.Msg, Policy: f.Policy, Severity: SeverityHigh}
			if s.name == ruleWarn {
				a.Severity = SeverityMedium
			}
			if t := obj.Get(keySeverity); t != nil {
				sev, ok := t.Value.(ast.String)
				if !ok || !slices.Contains(Severities, string(sev)) {
					return fmt.Errorf("data.%s.%s: element %v: severity: want one of %v", s.pkg, s.name, item, Severities)
				}
				a.Severity = string(sev)
			}
			a.Remediation, _ = stringAt(obj, keyRemediation)
			out = append(out, a)
			return nil
		})
		if err != nil {
			return nil, &EvalError{Revision: b.revision, Err: err}
		}
	}
	slices.SortFunc(out, func(x, y AuditFinding) int {
		switch {
		case x.Policy != y.Policy:
			return cmp.Compare(x.Policy, y.Policy)
		case x.Code != y.Code:
			return cmp.Compare(x.Code, y.Code)
		}
		return cmp.Compare(x.Msg, y.Msg)
	})
	return out, nil
}
