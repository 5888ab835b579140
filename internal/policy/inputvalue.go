package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// inputFields is which parts of the input a bundle's rules can read, as a
// tree of field names. Converting the input is a large part of an
// evaluation's cost, and the raw object in particular can be many times
// larger than everything else while the default library never reads it:
// fields no rule names are left out of the value Rego sees, which no rule
// can observe. A node is taken whole (all) where some rule reads it as a
// value (count(input.workload.gpuModels), f(input.workload)); elem is what
// rules read of every element of a list or map they iterate
// (some ps in input.workload.podSets; ps.name).
type inputFields struct {
	all  bool
	keys map[string]*inputFields
	elem *inputFields
}

// allFields is a subtree read whole.
var allFields = &inputFields{all: true}

func (f *inputFields) has(key string) bool { return f.all || f.keys[key] != nil }

// child is the selection below key: nil when no rule reads it.
func (f *inputFields) child(key string) *inputFields {
	if f.all {
		return allFields
	}
	return f.keys[key]
}

// step returns the node below f for one element of a ref: a constant string
// is a field or key, anything else (a variable, a number) any element.
func (f *inputFields) step(t *ast.Term) *inputFields {
	if f.all {
		return f
	}
	if k, ok := t.Value.(ast.String); ok {
		next := f.keys[string(k)]
		if next == nil {
			next = &inputFields{keys: map[string]*inputFields{}}
			f.keys[string(k)] = next
		}
		return next
	}
	if f.elem == nil {
		f.elem = &inputFields{keys: map[string]*inputFields{}}
	}
	return f.elem
}

func (f *inputFields) markAll() { f.all, f.keys, f.elem = true, nil, nil }

// readInputFields collects the parts of input the compiled modules read.
// The compiler has resolved every use of input to a ref by then (a bare
// input, as in walk(input), is the ref of length one), and rewritten
// iteration into `x = input.a[_]`: such an x is an alias of every element
// of input.a, and the refs on x (x.name) say what of the elements is read.
// Anything else done with input or with an alias (passing it to a function,
// comparing it, binding it to another variable) reads it whole.
func readInputFields(modules map[string]*ast.Module) *inputFields {
	f := &inputFields{keys: map[string]*inputFields{}}
	for _, m := range modules {
		for _, r := range m.Rules {
			readRuleInput(f, r)
		}
	}
	if f.elem != nil {
		f.markAll() // input[k]: the input is an object, any field
	}
	return f
}

// readRuleInput adds what one rule (its else branches included) reads.
func readRuleInput(f *inputFields, rule *ast.Rule) {
	aliases := map[ast.Var][]*inputFields{}
	defs := map[*ast.Expr]ast.Ref{} // alias definitions, and the ref each reads
	// resolve returns the nodes a ref reaches, creating them, if it is
	// rooted at input or at an alias.
	resolve := func(ref ast.Ref) []*inputFields {
		var roots []*inputFields
		if ref[0].Equal(ast.InputRootDocument) {
			roots = []*inputFields{f}
		} else if v, ok := ref[0].Value.(ast.Var); ok {
			roots = aliases[v]
		}
		out := make([]*inputFields, 0, len(roots))
		for _, node := range roots {
			for _, t := range ref[1:] {
				node = node.step(t)
			}
			out = append(out, node)
		}
		return out
	}
	// Alias definitions, to a fixpoint: an alias may be defined from
	// another (x = input.a[_]; y = x.b[_]).
	for changed := true; changed; {
		changed = false
		ast.WalkExprs(rule, func(e *ast.Expr) bool {
			if _, done := defs[e]; done || !e.IsEquality() || len(e.Operands()) != 2 || len(e.With) > 0 {
				return false
			}
			a, b := e.Operand(0), e.Operand(1)
			if _, ok := a.Value.(ast.Var); !ok {
				a, b = b, a
			}
			v, ok := a.Value.(ast.Var)
			ref, isRef := b.Value.(ast.Ref)
			if !ok || !isRef {
				return false
			}
			nodes := resolve(ref)
			if len(nodes) == 0 {
				return false
			}
			aliases[v] = append(aliases[v], nodes...)
			defs[e] = ref
			changed = true
			return false
		})
	}
	// Reads: a ref on input or on an alias reads its end whole, except in
	// a definition; an alias (or input) anywhere but at the head of a ref
	// is read whole. Keys of refs are visited: an alias may be one.
	var visit func(x any)
	visitKeys := func(ref ast.Ref) {
		for _, t := range ref[1:] {
			visit(t)
		}
	}
	visit = func(x any) {
		ast.NewGenericVisitor(func(x any) bool {
			switch x := x.(type) {
			case *ast.Expr:
				if ref, ok := defs[x]; ok {
					visitKeys(ref)
					return true
				}
			case *ast.Term:
				switch v := x.Value.(type) {
				case ast.Ref:
					for _, node := range resolve(v) {
						node.markAll()
					}
					if _, isVar := v[0].Value.(ast.Var); isVar {
						visitKeys(v)
						return true
					}
				case ast.Var:
					if v.Equal(ast.InputRootDocument.Value) {
						f.markAll()
					}
					for _, node := range aliases[v] {
						node.markAll()
					}
				}
			}
			return false
		}).Walk(x)
	}
	visit(rule)
}
