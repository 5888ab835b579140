package workload

import (
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

// MaxRulesFileBytes bounds a workload rules file: a few hundred rules fit in
// a tenth of it.
const MaxRulesFileBytes = 1 << 20

// rulesFile is the format of --workload-rules: YAML or JSON,
// rules: [{group, kind, class, podSets: [{name, each, template, replicas,
// minReplicas, defaultReplicas}]}].
type rulesFile struct {
	Rules []Rule `json:"rules"`
}

// ReadRules reads a workload rules file: the CRDs (or other kinds) an
// organisation wants placed and judged besides the built-in ones. Unknown
// fields and duplicate keys are refused, and every rule is checked as New
// would compile it, so that a typo fails at start with the rule it is in
// rather than leaving a kind silently undescribed.
func ReadRules(r io.Reader) ([]Rule, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxRulesFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading workload rules: %w", err)
	}
	if len(raw) > MaxRulesFileBytes {
		return nil, fmt.Errorf("workload rules: larger than %d KiB", MaxRulesFileBytes>>10)
	}
	var f rulesFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, fmt.Errorf("workload rules: %w (want rules: [{group, kind, class, podSets: [...]}])", err)
	}
	seen := map[string]int{}
	for i, rule := range f.Rules {
		if _, err := compileRule(rule); err != nil {
			return nil, fmt.Errorf("workload rules: rules[%d]: %w", i, err)
		}
		key := rule.Group + "/" + rule.Kind
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("workload rules: rules[%d] describes %s again (rules[%d] already does)", i, key, j)
		}
		seen[key] = i
	}
	return f.Rules, nil
}

// WithDefaultRules is DefaultRules with extra added; an extra rule for a
// built-in kind replaces the built-in one.
func WithDefaultRules(extra []Rule) []Rule {
	replaced := map[string]bool{}
	for _, r := range extra {
		replaced[r.Group+"/"+r.Kind] = true
	}
	var out []Rule
	for _, r := range DefaultRules() {
		if !replaced[r.Group+"/"+r.Kind] {
			out = append(out, r)
		}
	}
	return append(out, extra...)
}

// ReadRulesFile reads a workload rules file by path; "" means none.
func ReadRulesFile(path string) ([]Rule, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening workload rules: %w", err)
	}
	defer f.Close()
	rules, err := ReadRules(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}
