package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// auditGate is what the audit rules require of a resource before they read
// anything else of it, read off the compiled rules once per bundle: most
// rules judge one kind (input.resource.kind == "Key") or resources carrying
// one label (input.resource.labels["quartermaster.io/residency"]). A
// resource that no rule's guards admit gets no finding from any rule, so
// the auditor need not evaluate the rules on it at all: on an inventory of
// pods and GPU metrics that is most of an audit's CPU time.
//
// The gate only ever admits more than the rules would find: a rule whose
// body it cannot read (a guard behind an import alias, a helper rule, a
// negation, a with) admits every resource.
type auditGate struct {
	rules []ruleGuard
}

// ruleGuard is what one deny or warn rule's body requires: a kind in kinds
// (nil: any kind) and every one of labels present.
type ruleGuard struct {
	kinds  map[string]bool
	labels []string
}

var (
	refInputResourceKind   = ast.MustParseRef("input.resource.kind")
	refInputResourceLabels = ast.MustParseRef("input.resource.labels")
)

// readAuditGate reads the guards of the deny and warn rules of the audit
// packages.
func readAuditGate(modules map[string]*ast.Module) *auditGate {
	g := &auditGate{}
	for _, m := range modules {
		p := m.Package.Path
		if !p.HasPrefix(auditPackage) || len(p) == len(auditPackage) {
			continue
		}
		for _, r := range m.Rules {
			if name := r.Head.Name.String(); name != ruleDeny && name != ruleWarn {
				continue
			}
			g.rules = append(g.rules, guardOf(r.Body))
		}
	}
	return g
}

// guardOf reads the top-level expressions of a rule body that test the
// resource's kind against constants or require a label.
func guardOf(body ast.Body) ruleGuard {
	var g ruleGuard
	// The compiler moves some operands into locals of their own
	// (x in S becomes __local0__ = x; internal.member_2(__local0__, S)).
	locals := map[ast.Var]*ast.Term{}
	resolve := func(t *ast.Term) *ast.Term {
		if v, ok := t.Value.(ast.Var); ok && locals[v] != nil {
			return locals[v]
		}
		return t
	}
	for _, e := range body {
		if e.Negated || len(e.With) > 0 {
			continue
		}
		if e.IsCall() && len(e.Operands()) == 2 && e.Operator().Equal(ast.Equality.Ref()) {
			if v, ok := e.Operand(0).Value.(ast.Var); ok && v.IsGenerated() {
				locals[v] = e.Operand(1)
				continue
			}
		}
		if t, ok := e.Terms.(*ast.Term); ok { // a bare reference: defined and not false
			if key, ok := labelKey(t); ok {
				g.labels = append(g.labels, key)
			}
			continue
		}
		if !e.IsCall() || len(e.Operands()) != 2 {
			continue
		}
		op := e.Operator()
		a, b := resolve(e.Operand(0)), resolve(e.Operand(1))
		var kinds []string
		switch {
		case op.Equal(ast.Equality.Ref()) || op.Equal(ast.Equal.Ref()):
			if s, ok := b.Value.(ast.String); ok && a.Value.Compare(refInputResourceKind) == 0 {
				kinds = []string{string(s)}
			} else if s, ok := a.Value.(ast.String); ok && b.Value.Compare(refInputResourceKind) == 0 {
				kinds = []string{string(s)}
			}
		case op.Equal(ast.Member.Ref()):
			if set, ok := b.Value.(ast.Set); ok && a.Value.Compare(refInputResourceKind) == 0 {
				kinds = setStrings(set)
			}
		}
		if kinds == nil {
			continue
		}
		// Two kind tests in one body: the rule needs both.
		next := map[string]bool{}
		for _, k := range kinds {
			if g.kinds == nil || g.kinds[k] {
				next[k] = true
			}
		}
		g.kinds = next
	}
	return g
}

// labelKey reads input.resource.labels["key"].
func labelKey(t *ast.Term) (string, bool) {
	ref, ok := t.Value.(ast.Ref)
	if !ok || len(ref) != len(refInputResourceLabels)+1 || !ref.HasPrefix(refInputResourceLabels) {
		return "", false
	}
	s, ok := ref[len(ref)-1].Value.(ast.String)
	return string(s), ok
}

// setStrings is a set of constant strings, or nil if it holds anything
// else.
func setStrings(set ast.Set) []string {
	out := make([]string, 0, set.Len())
	ok := true
	set.Foreach(func(t *ast.Term) {
		if s, isString := t.Value.(ast.String); isString {
			out = append(out, string(s))
		} else {
			ok = false
		}
	})
	if !ok {
		return nil
	}
	return out
}

// admits reports whether some rule's guards hold for the resource.
func (g *auditGate) admits(kind string, labels map[string]string) bool {
	for _, r := range g.rules {
		if r.kinds != nil && !r.kinds[kind] {
			continue
		}
		all := true
		for _, l := range r.labels {
			if _, ok := labels[l]; !ok {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// MayAudit reports whether the audit rules may find anything on a resource
// of this kind with these labels: false means Audit would return no
// finding, and the caller can skip the evaluation. It reads the guards the
// rules start with (a kind compared with constants, a label required); a
// rule it cannot read is taken to judge every resource.
func (b *Bundle) MayAudit(kind string, labels map[string]string) bool {
	return b.audit != nil && b.auditGate.admits(kind, labels)
}
