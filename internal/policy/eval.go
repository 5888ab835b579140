package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// Evaluate runs phase one (see the package doc) on in. An *EvalError means
// the policy could not be evaluated; callers must fail closed.
func (b *Bundle) Evaluate(ctx context.Context, in *Input) (*Decision, error) {
	d := &Decision{Revision: b.revision}
	if b.exempt.match(in.Namespace.Name) {
		d.Exempt = true
		return d, nil
	}
	if b.phase1 == nil {
		return d, nil
	}
	if err := b.run(ctx, b.phase1, in, d); err != nil {
		return nil, &EvalError{Revision: b.revision, Err: err}
	}
	return d, nil
}

// EvaluatePlaced runs phase two: the deny and warn rules that read
// input.placement, with in.Placement set. It returns an empty decision when
// no rule reads the placement.
func (b *Bundle) EvaluatePlaced(ctx context.Context, in *Input) (*Decision, error) {
	d := &Decision{Revision: b.revision}
	if b.exempt.match(in.Namespace.Name) {
		d.Exempt = true
		return d, nil
	}
	if b.phase2 == nil {
		return d, nil
	}
	if in.Placement == nil {
		return nil, &EvalError{Revision: b.revision, Err: errors.New("rules read input.placement but no placement was given")}
	}
	if err := b.run(ctx, b.phase2, in, d); err != nil {
		return nil, &EvalError{Revision: b.revision, Err: err}
	}
	return d, nil
}

func (b *Bundle) run(ctx context.Context, q *preparedQuery, in *Input, d *Decision) error {
	if err := ctx.Err(); err != nil {
		// The webhook's deadline has passed: no answer is better than a
		// guess, and OPA only notices cancellation mid-evaluation.
		return err
	}
	input, err := ToValue(in)
	if err != nil {
		return fmt.Errorf("converting input: %w", err)
	}
	rs, err := q.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return err
	}
	if len(rs) != 1 {
		// Every contract rule is a set, so the query always has exactly
		// one result; anything else is an engine fault.
		return fmt.Errorf("policy query returned %d results, want 1", len(rs))
	}
	var restr placement.Restrictions
	restricted := false
	for _, s := range q.slots {
		set, ok := rs[0].Bindings[s.v].([]any)
		if !ok {
			return fmt.Errorf("data.%s.%s: want a set, got %T", s.pkg, s.name, rs[0].Bindings[s.v])
		}
		switch s.name {
		case ruleDeny, ruleWarn:
			for _, item := range set {
				f, err := finding(s, item)
				if err != nil {
					return err
				}
				if s.name == ruleWarn {
					d.Warnings = append(d.Warnings, f)
					continue
				}
				switch f.Mode = b.modes.mode(s.short, f.Code); f.Mode {
				case ModeEnforce:
					d.Violations = append(d.Violations, f)
				case ModeWarn:
					d.Warnings = append(d.Warnings, f)
				default:
					d.DryRun = append(d.DryRun, f)
				}
			}
		case ruleRestrict, ruleRequire:
			dry := b.modes.mode(s.short, "") == ModeDryRun
			for _, item := range set {
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

func finding(s slot, item any) (Finding, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return Finding{}, fmt.Errorf("data.%s.%s: element %v: want an object {\"code\": ..., \"msg\": ...}", s.pkg, s.name, item)
	}
	code, ok1 := obj["code"].(string)
	msg, ok2 := obj["msg"].(string)
	if !ok1 || !ok2 || code == "" || msg == "" {
		return Finding{}, fmt.Errorf("data.%s.%s: element %v: want non-empty string code and msg", s.pkg, s.name, item)
	}
	return Finding{Code: code, Msg: msg, Policy: s.pkg}, nil
}

// restrictOne validates one restrict or require element and applies it
// (unless dry); it returns a description for dry-run records.
func restrictOne(r *placement.Restrictions, s slot, item any, dry bool) (string, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return "", fmt.Errorf("data.%s.%s: element %v: want an object", s.pkg, s.name, item)
	}
	reason, _ := obj["reason"].(string)
	if reason == "" {
		return "", fmt.Errorf("data.%s.%s: element %v: want a non-empty string reason", s.pkg, s.name, item)
	}
	if s.name == ruleRequire {
		c, _ := obj["capability"].(string)
		if c == "" {
			return "", fmt.Errorf("data.%s.require: element %v: want a non-empty string capability", s.pkg, item)
		}
		if !dry {
			r.Require(c, reason, s.pkg)
			return "", nil
		}
		return "require " + c + ": " + reason, nil
	}
	field, _ := obj["field"].(string)
	list, ok := obj["allowed"].([]any)
	if !ok {
		return "", fmt.Errorf("data.%s.restrict: element %v: allowed: want a list (or set) of strings", s.pkg, item)
	}
	allowed := make([]string, 0, len(list))
	for _, a := range list {
		v, ok := a.(string)
		if !ok {
			return "", fmt.Errorf("data.%s.restrict: element %v: allowed: want strings, got %v", s.pkg, item, a)
		}
		allowed = append(allowed, v)
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
	case placement.FieldCloud, placement.FieldRegion, placement.FieldJurisdiction, placement.FieldCapacityType, placement.FieldGPUModel:
		return true
	}
	return false
}
