package policy

import (
	"fmt"
	"sort"
	"strings"
)

// modeTable is the enforcement table of data.config.enforcement:
//
//	default: enforce          # every package unless said otherwise
//	packages: {budget: warn}  # by package, without the quartermaster. prefix
//	rules: {access-default-service-account: dryrun}  # by rule code
//
// A rule code's entry beats its package's, which beats the default.
type modeTable struct {
	def      string
	packages map[string]string
	rules    map[string]string
}

func (t modeTable) mode(pkg, code string) string {
	if m, ok := t.rules[code]; ok {
		return m
	}
	if m, ok := t.packages[pkg]; ok {
		return m
	}
	return t.def
}

func validMode(where string, v any) (string, error) {
	s, ok := v.(string)
	switch {
	case !ok:
		return "", fmt.Errorf("%s: want enforce, warn or dryrun, got %s", where, typeName(v))
	case s == ModeEnforce, s == ModeWarn, s == ModeDryRun:
		return s, nil
	}
	return "", fmt.Errorf("%s: mode %q: want enforce, warn or dryrun", where, s)
}

// readModes validates data.config.enforcement; absent means enforce all.
func readModes(raw any) (modeTable, error) {
	t := modeTable{def: ModeEnforce, packages: map[string]string{}, rules: map[string]string{}}
	if raw == nil {
		return t, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return t, fmt.Errorf("data.config.enforcement: want an object")
	}
	for k, v := range m {
		switch k {
		case "default":
			mode, err := validMode("data.config.enforcement.default", v)
			if err != nil {
				return t, err
			}
			t.def = mode
		case "packages", "rules":
			entries, ok := v.(map[string]any)
			if !ok {
				return t, fmt.Errorf("data.config.enforcement.%s: want an object of name: mode", k)
			}
			dst := t.packages
			if k == "rules" {
				dst = t.rules
			}
			for name, mv := range entries {
				mode, err := validMode("data.config.enforcement."+k+"."+name, mv)
				if err != nil {
					return t, err
				}
				dst[strings.TrimPrefix(name, "quartermaster.")] = mode
			}
		default:
			return t, fmt.Errorf("data.config.enforcement: unknown key %q (want default, packages, rules)", k)
		}
	}
	return t, nil
}

// namespaceMatcher matches exempt namespaces: exact names, or prefixes
// written with a trailing *.
type namespaceMatcher struct {
	exact    map[string]bool
	prefixes []string
}

func (m namespaceMatcher) match(ns string) bool {
	if m.exact[ns] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(ns, p) {
			return true
		}
	}
	return false
}

// readExemptions validates data.config.exemptions: {namespaces: [...]}.
func readExemptions(raw any) (namespaceMatcher, error) {
	m := namespaceMatcher{exact: map[string]bool{}}
	if raw == nil {
		return m, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return m, fmt.Errorf("data.config.exemptions: want an object")
	}
	for k := range obj {
		if k != "namespaces" {
			return m, fmt.Errorf("data.config.exemptions: unknown key %q (want namespaces)", k)
		}
	}
	list, ok := obj["namespaces"].([]any)
	if !ok && obj["namespaces"] != nil {
		return m, fmt.Errorf("data.config.exemptions.namespaces: want a list of namespace names")
	}
	for i, v := range list {
		s, ok := v.(string)
		if !ok || s == "" || s == "*" {
			return m, fmt.Errorf("data.config.exemptions.namespaces[%d]: want a namespace name or prefix*, got %v", i, v)
		}
		if p, ok := strings.CutSuffix(s, "*"); ok {
			m.prefixes = append(m.prefixes, p)
		} else {
			m.exact[s] = true
		}
	}
	sort.Strings(m.prefixes)
	return m, nil
}
