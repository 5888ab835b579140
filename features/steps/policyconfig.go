package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/admission"
)

// policyConfigSteps change the policy library's data as a security team
// does without touching Rego or Go (enforcement modes, exemptions), and
// send the final object to the validating webhook.
var policyConfigSteps = []step{
	{`^the security team sets the rule "([^"]*)" to (enforce|warn|dryrun) mode$`, ruleMode},
	{`^the security team sets the package "([^"]*)" to (enforce|warn|dryrun) mode$`, packageMode},
	{`^the security team exempts the namespaces "([^"]*)"$`, exemptNamespaces},
	{`^another mutating webhook then changes its region pin to "([^"]*)"$`, changeRegionPin},
	{`^the validating webhook judges it$`, validatingJudges},
}

// enforcement is data.config.enforcement as the scenario set it.
type enforcement struct {
	Default  string            `json:"default"`
	Packages map[string]string `json:"packages"`
	Rules    map[string]string `json:"rules"`
}

// setMode rewrites enforcement.yaml (JSON is YAML) with one more entry.
func setMode(ctx context.Context, f func(e *enforcement)) error {
	w := get(ctx)
	e := enforcement{Default: "enforce", Packages: map[string]string{}, Rules: map[string]string{}}
	if raw, ok := w.dataEdits["enforcement.yaml"]; ok {
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return err
		}
	}
	f(&e)
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding the enforcement table: %w", err)
	}
	w.editData("enforcement.yaml", string(raw))
	return nil
}

func (w *world) editData(name, content string) {
	if w.dataEdits == nil {
		w.dataEdits = map[string]string{}
	}
	w.dataEdits[name] = content
	w.bundleEdited = nil
}

func ruleMode(ctx context.Context, code, mode string) error {
	return setMode(ctx, func(e *enforcement) { e.Rules[code] = mode })
}

func packageMode(ctx context.Context, pkg, mode string) error {
	return setMode(ctx, func(e *enforcement) { e.Packages[pkg] = mode })
}

func exemptNamespaces(ctx context.Context, list string) error {
	raw, err := json.Marshal(map[string]any{"namespaces": strings.Split(list, ",")})
	if err != nil {
		return err
	}
	get(ctx).editData("exemptions.yaml", string(raw))
	return nil
}

// changeRegionPin edits the region requirement of the stored object's node
// affinity after Quartermaster's mutation, as a later webhook could.
func changeRegionPin(ctx context.Context, region string) error {
	w := get(ctx)
	if w.stored == nil {
		return errors.New("nothing was admitted")
	}
	keys, err := w.keys()
	if err != nil {
		return err
	}
	changed := 0
	for _, ps := range gpuPodSpecs(w.stored) {
		aff, _ := ps["affinity"].(map[string]any)
		na, _ := aff["nodeAffinity"].(map[string]any)
		req, _ := na["requiredDuringSchedulingIgnoredDuringExecution"].(map[string]any)
		terms, _ := req["nodeSelectorTerms"].([]any)
		for _, t := range terms {
			tm, _ := t.(map[string]any)
			exprs, _ := tm["matchExpressions"].([]any)
			for _, e := range exprs {
				if em, _ := e.(map[string]any); em["key"] == keys.Region {
					em["values"] = []any{region}
					changed++
				}
			}
		}
	}
	if changed == 0 {
		return errors.New("the stored object has no region pin to change")
	}
	return nil
}

// validatingJudges sends the stored object (the final one, after every
// mutating webhook) to the validating webhook.
func validatingJudges(ctx context.Context) error {
	w := get(ctx)
	if w.stored == nil {
		return errors.New("nothing was admitted")
	}
	w.mode = admission.Validate
	defer func() { w.mode = admission.Mutate }()
	return w.admit("CREATE", clone(w.stored), nil, false)
}
