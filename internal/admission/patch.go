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

// buildPatch pins every pod set of the object to the decision (see
// contributionsFor). Nothing the user wrote is dropped: our requirements are
// ANDed into each of their node selector terms.
//
// The decision annotation is written unless the object already carries one
// that same accepts: the same placement on reinvocation, or exactly the
// recorded annotation when an update keeps its decision.
func buildPatch(obj map[string]any, w *workload.Workload, d *Decision, keys workload.LabelKeys, annotation string, same func(existing string) bool) []PatchOp {
	var ops []PatchOp
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		specPtr := ps.Pointer + "/spec"
		spec, _ := pointerGet(obj, specPtr).(map[string]any)
		if spec == nil {
			continue // extraction found it, so this cannot happen; never patch blind
		}
		c := contributionsFor(d, keys, ps.GPU.Count > 0)
		ops = appendAffinity(ops, spec, specPtr, c.requirements())
		if c.capacityValue != "" || c.spot {
			ops = appendCapacity(ops, spec, specPtr, keys, &c)
		}
	}
	ops = appendAnnotation(ops, obj, annotation, same)
	return ops
}

// contributions are what the patch adds to one pod spec for a decision. The
// patch and stripSpec (which takes them away again, for the fingerprint and
// for re-placement) both derive from it, so that they cannot drift apart.
type contributions struct {
	// pins are ANDed into every required node selector term, each as
	// key In [value]. A fixed array: the fingerprint derives contributions
	// on every decision, and this keeps that free of allocations.
	pins [3]pin
	n    int
	// capacityValue is the node selector value pinned on the profile's
	// capacity-type label; "" pins none.
	capacityValue string
	// spot adds the toleration of the profile's spot taint.
	spot bool
}

// pin is one node selector requirement of the patch: key In [value].
type pin struct{ key, value string }

// contributionsFor is what a pod set gets under the label profile keys: GPU
// pod sets the cloud (where the profile has a cloud label: single-cloud
// profiles have none), region and instance type, the capacity type (spot
// always; on-demand too where the profile's spot nodes are not tainted, so
// that an autoscaler preferring spot cannot launch one) and, on spot, the
// toleration of the spot taint; pod sets without GPUs (a Ray head) cloud and
// region only, so that the gang stays together without occupying GPU nodes.
func contributionsFor(d *Decision, keys workload.LabelKeys, gpu bool) contributions {
	var c contributions
	if keys.Cloud != "" {
		c.pins[c.n], c.n = pin{keys.Cloud, d.Cloud}, c.n+1
	}
	c.pins[c.n], c.n = pin{keys.Region, d.Region}, c.n+1
	if gpu {
		c.pins[c.n], c.n = pin{keys.InstanceType, d.InstanceType}, c.n+1
		if d.CapacityType == spotValue || keys.PinsOnDemand() {
			c.capacityValue = keys.CapacityValue(string(d.CapacityType))
		}
		c.spot = d.CapacityType == spotValue && keys.SpotTaint != ""
	}
	return c
}

// requirements are the pins as node selector requirements, for the patch.
func (c *contributions) requirements() []any {
	out := make([]any, c.n)
	for i, p := range c.pins[:c.n] {
		out[i] = requirement(p.key, p.value)
	}
	return out
}

// isPin reports whether the node selector requirement e is exactly one of
// the pins (key, operator In and the one value, nothing else).
func (c *contributions) isPin(e any) bool {
	em, ok := e.(map[string]any)
	if !ok || len(em) != 3 || em["operator"] != "In" {
		return false
	}
	values, _ := em["values"].([]any)
	if len(values) != 1 {
		return false
	}
	for _, p := range c.pins[:c.n] {
		if em["key"] == p.key && values[0] == p.value {
			return true
		}
	}
	return false
}

// spotToleration is the toleration the patch adds to pods placed on spot.
// Exists for a taint without a value, Equal for one with (GKE, AKS).
func spotToleration(keys workload.LabelKeys) map[string]any {
	if keys.SpotTaintValue != "" {
		return map[string]any{"key": keys.SpotTaint, "operator": "Equal", "value": keys.SpotTaintValue, "effect": "NoSchedule"}
	}
	return map[string]any{"key": keys.SpotTaint, "operator": "Exists", "effect": "NoSchedule"}
}

// isSpotToleration reports whether t tolerates the profile's spot taint as
// ours does (any effect-less or NoSchedule toleration admitting its value).
func isSpotToleration(t any, keys workload.LabelKeys) bool {
	tm, ok := t.(map[string]any)
	return ok && tm["key"] == keys.SpotTaint && tolerates(tm, keys.SpotTaintValue) &&
		(tm["effect"] == nil || tm["effect"] == "" || tm["effect"] == "NoSchedule")
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

// appendCapacity pins the capacity type in the node selector, with the
// profile's label value, and for spot adds the toleration of the profile's
// spot taint, each when missing (see contributionsFor for when).
func appendCapacity(ops []PatchOp, spec map[string]any, specPtr string, keys workload.LabelKeys, c *contributions) []PatchOp {
	ns, hasNS := spec["nodeSelector"].(map[string]any)
	switch {
	case c.capacityValue == "":
	case !hasNS:
		ops = append(ops, PatchOp{Op: "add", Path: specPtr + "/nodeSelector", Value: map[string]any{keys.CapacityType: c.capacityValue}})
	case ns[keys.CapacityType] != c.capacityValue:
		ops = append(ops, PatchOp{Op: "add", Path: specPtr + "/nodeSelector/" + workload.EscapePointer(keys.CapacityType), Value: c.capacityValue})
	}
	if !c.spot {
		return ops
	}
	tols, hasTols := spec["tolerations"].([]any)
	for _, t := range tols {
		if isSpotToleration(t, keys) {
			return ops
		}
	}
	tol := spotToleration(keys)
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

func appendAnnotation(ops []PatchOp, obj map[string]any, value string, same func(existing string) bool) []PatchOp {
	meta, _ := obj["metadata"].(map[string]any)
	ann, hasAnn := meta["annotations"].(map[string]any)
	if old, ok := ann[workload.AnnotationDecision].(string); ok && same(old) {
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
// It walks the pointer in place: the fingerprint and the patch resolve
// pointers on every decision.
func pointerGet(node any, ptr string) any {
	if ptr == "" || ptr == "/" {
		return node
	}
	for rest, more := strings.TrimPrefix(ptr, "/"), true; more; {
		var tok string
		tok, rest, more = strings.Cut(rest, "/")
		if strings.Contains(tok, "~") {
			tok = pointerUnescaper.Replace(tok)
		}
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
