package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// Evaluate runs phase one (see the package doc) on in and returns its
// decision with what phase two needs: Placed runs the rules that judge a
// placement, on the same bundle and the same converted input. An
// *EvalError means the policy could not be evaluated; callers must fail
// closed.
func (b *Bundle) Evaluate(ctx context.Context, in *Input) (*Evaluation, error) {
	e := &Evaluation{Decision: &Decision{Revision: b.revision}, bundle: b}
	if b.exempt.match(in.Namespace.Name) {
		e.Decision.Exempt = true
		return e, nil
	}
	if b.phase1 == nil && b.phase2 == nil {
		return e, nil
	}
	// Converted once: phase two adds only input.placement to it.
	kvs, err := selectedFields(reflect.ValueOf(in).Elem(), b.fields, "placement")
	if err != nil {
		return nil, &EvalError{Revision: b.revision, Err: fmt.Errorf("converting input: %w", err)}
	}
	e.input = kvs
	if b.phase1 == nil {
		return e, nil
	}
	if err := b.run(ctx, b.phase1, ast.NewObject(kvs...), e.Decision); err != nil {
		return nil, &EvalError{Revision: b.revision, Err: err}
	}
	return e, nil
}

// Evaluation is the result of phase one, and the way to phase two.
type Evaluation struct {
	// Decision is phase one's: violations, warnings and the restrictions
	// placement must respect. Embedded, so that an Evaluation reads as the
	// decision it holds.
	*Decision
	// bundle is the bundle phase one ran, so that phase two judges the
	// placement with the same rules even when a reload swaps the bundle
	// in service between the two phases.
	bundle *Bundle
	// input is phase one's converted input (every selected field but the
	// placement); nil when the namespace is exempt or no rule reads input.
	input [][2]*ast.Term
}

// Placed runs phase two: the deny and warn rules that read
// input.placement, with p as the placement. It returns an empty decision
// (with the bundle's revision) when no rule reads the placement or the
// namespace is exempt. An *EvalError means "fail closed".
func (e *Evaluation) Placed(ctx context.Context, p *placement.Placement) (*Decision, error) {
	b := e.bundle
	d := &Decision{Revision: b.revision, Exempt: e.Decision.Exempt}
	if d.Exempt || b.phase2 == nil {
		return d, nil
	}
	if p == nil {
		return nil, &EvalError{Revision: b.revision, Err: errors.New("rules read input.placement but no placement was given")}
	}
	kvs := e.input
	if b.fields.has("placement") {
		v, err := selectedValue(reflect.ValueOf(p), b.fields.child("placement"))
		if err != nil {
			return nil, &EvalError{Revision: b.revision, Err: fmt.Errorf("converting placement: %w", err)}
		}
		// The three-index slice makes append copy: the Evaluation's own
		// input stays as it was, so Placed may run more than once.
		kvs = append(kvs[:len(kvs):len(kvs)], [2]*ast.Term{placementKey, ast.NewTerm(v)})
	}
	if err := b.run(ctx, b.phase2, ast.NewObject(kvs...), d); err != nil {
		return nil, &EvalError{Revision: b.revision, Err: err}
	}
	return d, nil
}

var placementKey = ast.StringTerm("placement")

// The keys of contract elements, made once rather than per lookup.
var (
	keyCode       = ast.StringTerm("code")
	keyMsg        = ast.StringTerm("msg")
	keyReason     = ast.StringTerm("reason")
	keyCapability = ast.StringTerm("capability")
	keyField      = ast.StringTerm("field")
	keyAllowed    = ast.StringTerm("allowed")
)

// keepTerm hands results back as the AST terms evaluation produced: the
// default turns every set and object into Go maps and slices first.
func keepTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

func (b *Bundle) run(ctx context.Context, q *preparedQuery, input ast.Value, d *Decision) error {
	result, err := q.eval(ctx, input)
	if err != nil {
		return err
	}
	var restr costing.Restrictions
	restricted := false
	for _, s := range q.slots {
		set, err := result.set(s)
		if err != nil {
			return err
		}
		// Iterate in the set's own order, as before: it decides the order
		// of the restriction reasons.
		err = set.Iter(func(item *ast.Term) error {
			switch s.name {
			case ruleDeny, ruleWarn:
				f, err := finding(s, item)
				if err != nil {
					return err
				}
				if s.name == ruleWarn {
					d.Warnings = append(d.Warnings, f)
					return nil
				}
				switch f.Mode = b.modes.mode(s.short, f.Code); f.Mode {
				case ModeEnforce:
					d.Violations = append(d.Violations, f)
				case ModeWarn:
					d.Warnings = append(d.Warnings, f)
				default:
					d.DryRun = append(d.DryRun, f)
				}
			case ruleRestrict, ruleRequire:
				dry := b.modes.mode(s.short, "") == ModeDryRun
				msg, err := restrictOne(&restr, s, item, dry)
				if err != nil {
					return err
				}
				if dry {
					d.DryRun = append(d.DryRun, Finding{Code: s.name, Msg: msg, Policy: s.pkg, Mode: ModeDryRun})
				} else {
					restricted = true
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if restricted {
		d.Restrictions = &restr
	}
	sortFindings(d.Violations)
	sortFindings(d.Warnings)
	sortFindings(d.DryRun)
	return nil
}

// queryResult is the one result of a prepared query: each slot's set.
type queryResult topdown.QueryResult

// set returns the set a slot's rule produced.
func (r queryResult) set(s slot) (ast.Set, error) {
	t := r[ast.Var(s.v)]
	if t == nil {
		return nil, fmt.Errorf("data.%s.%s: no result", s.pkg, s.name)
	}
	set, ok := t.Value.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("data.%s.%s: want a set, got %s", s.pkg, s.name, ast.ValueName(t.Value))
	}
	return set, nil
}

// eval runs the prepared query on input and returns its one result.
func (q *preparedQuery) eval(ctx context.Context, input ast.Value) (queryResult, error) {
	if err := ctx.Err(); err != nil {
		// The webhook's deadline has passed: no answer is better than a
		// guess, and OPA only notices cancellation mid-evaluation.
		return nil, err
	}
	// Cancel through a callback on ctx rather than letting OPA start a
	// goroutine per evaluation to watch it.
	cancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, cancel.Cancel)
	defer stop()
	txn, err := q.store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer q.store.Abort(ctx, txn)
	var result topdown.QueryResult
	n := 0
	err = topdown.NewQuery(q.body).
		WithQueryCompiler(q.queryCompiler).
		WithCompiler(q.compiler).
		WithStore(q.store).
		WithTransaction(txn).
		WithInput(ast.NewTerm(input)).
		WithCancel(cancel).
		WithIndexing(true).
		WithEarlyExit(true).
		// A built-in error (to_number on garbage, a bad regex) must fail
		// the evaluation, and so the admission, rather than quietly make a
		// deny rule undefined.
		WithStrictBuiltinErrors(true).
		// Nobody reads per-evaluation metrics; the default allocates them.
		WithMetrics(metrics.NoOp()).
		Iter(ctx, func(qr topdown.QueryResult) error {
			result = qr
			n++
			return nil
		})
	if err != nil {
		return nil, err
	}
	if n != 1 {
		// Every contract rule is a set, so the query always has exactly
		// one result; anything else is an engine fault.
		return nil, fmt.Errorf("policy query returned %d results, want 1", n)
	}
	return queryResult(result), nil
}

// stringAt returns obj[key] if it is a string.
func stringAt(obj ast.Object, key *ast.Term) (string, bool) {
	t := obj.Get(key)
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

// sortFindings orders by policy, code, message: sets have no order, and
// decisions must be reproducible.
func sortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Msg < b.Msg
	})
}

func finding(s slot, item *ast.Term) (Finding, error) {
	obj, ok := item.Value.(ast.Object)
	if !ok {
		return Finding{}, fmt.Errorf("data.%s.%s: element %v: want an object {\"code\": ..., \"msg\": ...}", s.pkg, s.name, item)
	}
	code, ok1 := stringAt(obj, keyCode)
	msg, ok2 := stringAt(obj, keyMsg)
	if !ok1 || !ok2 || code == "" || msg == "" {
		return Finding{}, fmt.Errorf("data.%s.%s: element %v: want non-empty string code and msg", s.pkg, s.name, item)
	}
	return Finding{Code: code, Msg: msg, Policy: s.pkg}, nil
}

// restrictOne validates one restrict or require element and applies it
// (unless dry); it returns a description for dry-run records.
func restrictOne(r *costing.Restrictions, s slot, item *ast.Term, dry bool) (string, error) {
	obj, ok := item.Value.(ast.Object)
	if !ok {
		return "", fmt.Errorf("data.%s.%s: element %v: want an object", s.pkg, s.name, item)
	}
	reason, _ := stringAt(obj, keyReason)
	if reason == "" {
		return "", fmt.Errorf("data.%s.%s: element %v: want a non-empty string reason", s.pkg, s.name, item)
	}
	if s.name == ruleRequire {
		c, _ := stringAt(obj, keyCapability)
		if c == "" {
			return "", fmt.Errorf("data.%s.require: element %v: want a non-empty string capability", s.pkg, item)
		}
		if !dry {
			r.Require(c, reason, s.pkg)
			return "", nil
		}
		return "require " + c + ": " + reason, nil
	}
	field, _ := stringAt(obj, keyField)
	var list []*ast.Term
	if a := obj.Get(keyAllowed); a != nil {
		switch v := a.Value.(type) {
		case *ast.Array:
			list = make([]*ast.Term, 0, v.Len())
			v.Foreach(func(t *ast.Term) { list = append(list, t) })
		case ast.Set:
			list = v.Slice()
		}
	}
	if list == nil {
		return "", fmt.Errorf("data.%s.restrict: element %v: allowed: want a list (or set) of strings", s.pkg, item)
	}
	allowed := make([]string, 0, len(list))
	for _, a := range list {
		v, ok := a.Value.(ast.String)
		if !ok {
			return "", fmt.Errorf("data.%s.restrict: element %v: allowed: want strings, got %v", s.pkg, item, a)
		}
		allowed = append(allowed, string(v))
	}
	sort.Strings(allowed)
	if !restrictable(field) {
		return "", fmt.Errorf("data.%s.restrict: element %v: field %q: want cloud, region, jurisdiction, capacityType or gpuModel", s.pkg, item, field)
	}
	if !dry {
		r.Restrict(field, allowed, reason, s.pkg)
		return "", nil
	}
	return fmt.Sprintf("restrict %s to %v: %s", field, allowed, reason), nil
}

// restrictable reports whether Restrictions.Restrict accepts field. Checking
// here rather than by restricting a throwaway value matters: restricting
// gpuModel canonicalises every model, which costs more than the rest of the
// decoding together.
func restrictable(field string) bool {
	switch field {
	case costing.FieldCloud, costing.FieldRegion, costing.FieldJurisdiction, costing.FieldCapacityType, costing.FieldGPUModel:
		return true
	}
	return false
}
