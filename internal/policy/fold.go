package policy

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// Folding: a complete rule that reads no input, however it is computed, has
// the same value on every request until the bundle changes. Evaluating it
// once at load and compiling the request queries over a copy of the modules
// in which it is a constant (name := value) saves that work on every
// request: a table built from data (per team, per region) costs a lookup.
// The bundle's own tests run on the modules as written, and a reload folds
// again, so the policy behaves exactly as written; only the work moves.
//
// A rule is folded when every definition of it (and everything it depends
// on, transitively) names no input, calls no non-deterministic or unknown
// built-in, uses no `with`, and evaluates at load without error to a
// defined value. Anything else is left as written: an error still fails the
// request closed, as it would have.

// foldable decides, per rule, whether its value is independent of the request.
type foldable struct {
	compiler *ast.Compiler
	memo     map[*ast.Rule]bool
}

// inputFree reports whether r and everything it depends on read no input.
func (f *foldable) inputFree(r *ast.Rule) bool {
	if v, ok := f.memo[r]; ok {
		return v
	}
	f.memo[r] = false // recursion is rejected by the compiler; be safe anyway
	ok := f.selfInputFree(r)
	if ok {
		for dep := range f.compiler.Graph.Dependencies(r) {
			if d, isRule := dep.(*ast.Rule); !isRule || !f.inputFree(d) {
				ok = false
				break
			}
		}
	}
	if ok && r.Else != nil {
		ok = f.inputFree(r.Else)
	}
	f.memo[r] = ok
	return ok
}

// selfInputFree checks r's own head and body, not its dependencies.
func (f *foldable) selfInputFree(r *ast.Rule) bool {
	ok := true
	ast.WalkRefs(r, func(ref ast.Ref) bool {
		switch {
		case ref[0].Equal(ast.InputRootDocument):
			ok = false
		case ref[0].Equal(ast.DefaultRootDocument) && (len(ref) < 2 || !ref[1].IsGround()):
			// data as a whole, or data[x]: it may reach any rule.
			ok = false
		}
		return !ok
	})
	if !ok {
		return false
	}
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if len(e.With) > 0 {
			ok = false
			return true
		}
		if !e.IsCall() {
			return false
		}
		op := e.Operator()
		if op.HasPrefix(ast.DefaultRootRef) {
			return false // a function of the bundle: a dependency in the graph
		}
		b, known := ast.BuiltinMap[op.String()]
		if !known || b.Nondeterministic {
			ok = false
		}
		return !ok
	})
	return ok
}

// fold returns copies of modules in which the input-free complete rules
// of compiler's modules are constants, and how many rules it folded. It
// returns modules unchanged (and 0) when there is nothing to fold.
func fold(ctx context.Context, compiler *ast.Compiler, store storage.Store, modules map[string]*ast.Module) (map[string]*ast.Module, int, error) {
	if replacesData(compiler.Modules) {
		return modules, 0, nil
	}
	f := &foldable{compiler: compiler, memo: map[*ast.Rule]bool{}}
	// Group definitions by the rule they define: all of them (and the
	// default) must be input-free for the rule to fold.
	type ruleSet struct {
		path  ast.Ref
		rules []*ast.Rule
	}
	sets := map[string]*ruleSet{}
	ok := map[string]bool{}
	for _, m := range compiler.Modules {
		for _, r := range m.Rules {
			path := r.Ref().GroundPrefix()
			key := path.String()
			s := sets[key]
			if s == nil {
				s = &ruleSet{path: path}
				sets[key] = s
				ok[key] = true
			}
			s.rules = append(s.rules, r)
			simple := len(r.Head.Reference) == 1 && len(r.Head.Args) == 0 && r.Head.RuleKind() == ast.SingleValue
			if !simple || !f.inputFree(r) {
				ok[key] = false
			}
		}
	}
	values := map[string]*ast.Term{}
	keys := make([]string, 0, len(sets))
	for k := range sets {
		if ok[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := sets[k]
		if isConstant(s.rules) {
			continue // already a constant: nothing to gain
		}
		pq, err := rego.New(
			rego.Query("x = "+s.path.String()),
			rego.Compiler(compiler),
			rego.Store(store),
			rego.SetRegoVersion(ast.RegoV1),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("folding %s: %w", s.path, err)
		}
		// Keep the value as the AST term evaluation produced: the default
		// result is JSON-shaped, and would turn a set into an array.
		rs, err := pq.Eval(ctx, rego.EvalGenerateJSON(keepTerm))
		if err != nil || len(rs) != 1 {
			continue // undefined or an error: leave it to the request, as written
		}
		t, isTerm := rs[0].Bindings["x"].(*ast.Term)
		if !isTerm || !t.IsGround() {
			continue
		}
		values[k] = t.Copy()
	}
	if len(values) == 0 {
		return modules, 0, nil
	}
	out := make(map[string]*ast.Module, len(modules))
	for name, m := range modules {
		c := m.Copy()
		kept := c.Rules[:0]
		for _, r := range c.Rules {
			key := r.Ref().GroundPrefix().String()
			v, folded := values[key]
			if !folded {
				kept = append(kept, r)
				continue
			}
			if v == nil {
				continue // the rule's other definitions: its constant is already in
			}
			kept = append(kept, constantRule(c, r, v))
			values[key] = nil
		}
		c.Rules = kept
		out[name] = c
	}
	return out, len(values), nil
}

// replacesData reports whether some rule replaces data or a function with
// `with`: any rule's value could then differ within one evaluation, which a
// constant could not follow. Replacing the input changes no input-free rule.
func replacesData(modules map[string]*ast.Module) bool {
	found := false
	for _, m := range modules {
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			for _, w := range e.With {
				if ref, ok := w.Target.Value.(ast.Ref); !ok || !ref.HasPrefix(ast.InputRootRef) {
					found = true
				}
			}
			return found
		})
	}
	return found
}

// constantRule is `name := value`, in module m where r was.
func constantRule(m *ast.Module, r *ast.Rule, v *ast.Term) *ast.Rule {
	head := ast.NewHead(r.Head.Name, nil, v)
	head.Reference = r.Head.Reference.Copy()
	head.Assign = true
	head.Location = r.Head.Location
	v.Location = r.Head.Location
	body := ast.NewBody(ast.NewExpr(ast.BooleanTerm(true).SetLocation(r.Location)).SetLocation(r.Location))
	return &ast.Rule{Head: head, Body: body, Module: m, Location: r.Location}
}

// isConstant reports whether rules are one definition whose body is true and
// whose value is ground: `name := {"a", "b"}` is already as cheap as it gets.
func isConstant(rules []*ast.Rule) bool {
	if len(rules) != 1 {
		return false
	}
	r := rules[0]
	return r.Else == nil && !r.Default && len(r.Body) == 1 && r.Body[0].Equal(ast.NewExpr(ast.BooleanTerm(true))) && r.Head.Value != nil && r.Head.Value.IsGround()
}
