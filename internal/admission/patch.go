package admission

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// PatchOp is one RFC 6902 JSON patch operation.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

const (
	nodeAffinityPath = "affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"
	spotValue        = "spot"
)

// buildPatch pins every pod set of the object to the decision. GPU pod sets
// get cloud, region and instance type; pod sets without GPUs (a Ray head)
// get cloud and region only, so that the gang stays together without
// occupying GPU nodes. Nothing the user wrote is dropped: our requirements
// are ANDed into each of their node selector terms.
func buildPatch(obj map[string]any, w *workload.Workload, d *Decision, keys workload.LabelKeys, annotation string) []PatchOp {
	var ops []PatchOp
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		specPtr := ps.Pointer + "/spec"
		spec, _ := pointerGet(obj, specPtr).(map[string]any)
		if spec == nil {
			continue // extraction found it, so this cannot happen; never patch blind
		}
		want := make([]any, 0, 3)
		if keys.Cloud != "" { // single-cloud profiles have no cloud label
			want = append(want, requirement(keys.Cloud, d.Cloud))
		}
		want = append(want, requirement(keys.Region, d.Region))
		gpu := ps.GPU.Count > 0
		if gpu {
			want = append(want, requirement(keys.InstanceType, d.InstanceType))
		}
		ops = appendAffinity(ops, spec, specPtr, want)
		if gpu && (d.CapacityType == spotValue || keys.PinsOnDemand()) {
			ops = appendSpot(ops, spec, specPtr, keys, d.CapacityType)
		}
	}
	ops = appendAnnotation(ops, obj, annotation, d)
	return ops
}

func requirement(key, value string) map[string]any {
	return map[string]any{"key": key, "operator": "In", "values": []any{value}}
}

// appendAffinity merges want into the required node affinity of spec.
func appendAffinity(ops []PatchOp, spec map[string]any, specPtr string, want []any) []PatchOp {
	terms, _ := pointerGet(spec, "/"+nodeAffinityPath).([]any)
	if len(terms) == 0 {
		// Add at the shallowest missing level so that existing siblings
		// (pod affinity, preferred terms) are kept.
		levels := strings.Split(nodeAffinityPath, "/")
		cur, depth := spec, 0
		for ; depth < len(levels)-1; depth++ {
			next, ok := cur[levels[depth]].(map[string]any)
			if !ok {
				break
			}
			cur = next
		}
		var value any = []any{map[string]any{"matchExpressions": want}}
		for i := len(levels) - 1; i > depth; i-- {
			value = map[string]any{levels[i]: value}
		}
		return append(ops, PatchOp{Op: "add", Path: specPtr + "/" + strings.Join(levels[:depth+1], "/"), Value: value})
	}
	changed := false
	merged := make([]any, len(terms))
	for i, t := range terms {
		tm, _ := t.(map[string]any)
		exprs, _ := tm["matchExpressions"].([]any)
		out := append([]any(nil), exprs...)
		for _, w := range want {
			if !containsExpr(exprs, w) {
				out = append(out, w)
				changed = true
			}
		}
		nt := make(map[string]any, len(tm)+1)
		for k, v := range tm {
			nt[k] = v
		}
		nt["matchExpressions"] = out
		merged[i] = nt
	}
	if !changed {
		return ops
	}
	return append(ops, PatchOp{Op: "replace", Path: specPtr + "/" + nodeAffinityPath, Value: merged})
}

func containsExpr(exprs []any, want any) bool {
	w := want.(map[string]any)
	for _, e := range exprs {
		em, ok := e.(map[string]any)
		if !ok || em["key"] != w["key"] || em["operator"] != w["operator"] {
			continue
		}
		vals, _ := em["values"].([]any)
		if reflect.DeepEqual(vals, w["values"]) {
			return true
		}
	}
	return false
}

// appendSpot pins the capacity type in the node selector, with the
// profile's label value, and for spot adds the toleration of the profile's
// spot taint, each when missing. A profile whose spot nodes lack a taint
// gets no toleration; one whose on-demand nodes lack a value gets no
// selector (buildPatch calls it for on-demand only when the profile pins it).
func appendSpot(ops []PatchOp, spec map[string]any, specPtr string, keys workload.LabelKeys, capacity string) []PatchOp {
	value := keys.CapacityValue(capacity)
	ns, hasNS := spec["nodeSelector"].(map[string]any)
	switch {
	case value == "":
	case !hasNS:
		ops = append(ops, PatchOp{Op: "add", Path: specPtr + "/nodeSelector", Value: map[string]any{keys.CapacityType: value}})
	case ns[keys.CapacityType] != value:
		ops = append(ops, PatchOp{Op: "add", Path: specPtr + "/nodeSelector/" + workload.EscapePointer(keys.CapacityType), Value: value})
	}
	if capacity != spotValue || keys.SpotTaint == "" {
		return ops
	}
	tol := map[string]any{"key": keys.SpotTaint, "operator": "Exists", "effect": "NoSchedule"}
	if keys.SpotTaintValue != "" {
		tol = map[string]any{"key": keys.SpotTaint, "operator": "Equal", "value": keys.SpotTaintValue, "effect": "NoSchedule"}
	}
	tols, hasTols := spec["tolerations"].([]any)
	for _, t := range tols {
		if tm, ok := t.(map[string]any); ok && tm["key"] == keys.SpotTaint && tolerates(tm, keys.SpotTaintValue) &&
			(tm["effect"] == nil || tm["effect"] == "" || tm["effect"] == "NoSchedule") {
			return ops
		}
	}
	if !hasTols {
		return append(ops, PatchOp{Op: "add", Path: specPtr + "/tolerations", Value: []any{tol}})
	}
	return append(ops, PatchOp{Op: "add", Path: specPtr + "/tolerations/-", Value: tol})
}

// tolerates reports whether a toleration of the spot taint's key admits its
// value: Exists admits any, Equal (the default operator) only the same.
func tolerates(tm map[string]any, value string) bool {
	switch tm["operator"] {
	case "Exists":
		return true
	case "Equal", nil, "":
		return value != "" && tm["value"] == value
	}
	return false
}

func appendAnnotation(ops []PatchOp, obj map[string]any, value string, d *Decision) []PatchOp {
	meta, _ := obj["metadata"].(map[string]any)
	ann, hasAnn := meta["annotations"].(map[string]any)
	if old, ok := ann[workload.AnnotationDecision].(string); ok && samePlacement(old, d) {
		return ops
	}
	switch {
	case meta == nil:
		return append(ops, PatchOp{Op: "add", Path: "/metadata", Value: map[string]any{"annotations": map[string]any{workload.AnnotationDecision: value}}})
	case !hasAnn:
		return append(ops, PatchOp{Op: "add", Path: "/metadata/annotations", Value: map[string]any{workload.AnnotationDecision: value}})
	default:
		return append(ops, PatchOp{Op: "add", Path: "/metadata/annotations/" + workload.EscapePointer(workload.AnnotationDecision), Value: value})
	}
}

// pointerUnescaper is built once: building a Replacer per token dominated
// the patch builder's CPU.
var pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")

// pointerGet resolves a JSON pointer within decoded JSON; nil if absent.
func pointerGet(node any, ptr string) any {
	if ptr == "" || ptr == "/" {
		return node
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = pointerUnescaper.Replace(tok)
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			node = n[i]
		default:
			return nil
		}
	}
	return node
}

func itoa(i int) string { return strconv.Itoa(i) }
