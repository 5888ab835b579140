package admission

import (
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// An admitted GPU object is updated many times in its life: labelled,
// scaled, rolled out, re-applied by GitOps, its finalizers removed. Each
// update reaches the webhook, and none of them may be refused because the
// object's own pods now fill the quota it was placed under. So a decision
// records a fingerprint of what it depended on, and an update is judged
// against it:
//
//   - fingerprint unchanged (labels, replicas, other annotations edited): the
//     recorded decision is kept, with no policy evaluation and no placement;
//     the patch only restores Quartermaster's pins and annotation if the
//     update removed them;
//   - fingerprint changed (a pod template or a quartermaster.io/ annotation
//     edited): the recorded decision's own pins are taken away and the object
//     is placed again, with the GPUs its own pods hold subtracted from usage.
//
// The validating call keeps a final object that still matches the decision it
// carries, so that one admission evaluates policy once.

// The pod spec fields the patch writes.
const (
	fieldAffinity     = "affinity"
	fieldNodeSelector = "nodeSelector"
	fieldTolerations  = "tolerations"
)

// stripSpec returns spec without the contributions c (exactly the
// requirements, spot node selector and toleration the patch adds) and with
// the containers they leave empty removed, so that a spec the patch created
// them in and one it did not strip alike. spec itself is never modified: a
// changed field is copied, an unchanged spec returned as it is.
func stripSpec(spec map[string]any, c *contributions, keys workload.LabelKeys) map[string]any {
	if spec == nil {
		return nil
	}
	out := spec
	set := func(field string, v any) {
		if sameMap(out, spec) {
			out = maps.Clone(spec)
		}
		if v == nil {
			delete(out, field)
		} else {
			out[field] = v
		}
	}
	if aff, ok := spec[fieldAffinity].(map[string]any); ok {
		if v, changed := stripAffinity(aff, c); changed {
			set(fieldAffinity, v)
		}
	}
	if ns, ok := spec[fieldNodeSelector].(map[string]any); ok {
		if c.capacityValue != "" && ns[keys.CapacityType] == c.capacityValue {
			ns = maps.Clone(ns)
			delete(ns, keys.CapacityType)
			set(fieldNodeSelector, ns)
		}
		if len(ns) == 0 {
			set(fieldNodeSelector, nil)
		}
	}
	if tols, ok := spec[fieldTolerations].([]any); ok {
		if c.spot {
			kept := make([]any, 0, len(tols))
			for _, t := range tols {
				if !isSpotToleration(t, keys) {
					kept = append(kept, t)
				}
			}
			if len(kept) != len(tols) {
				tols = kept
				set(fieldTolerations, tols)
			}
		}
		if len(tols) == 0 {
			set(fieldTolerations, nil)
		}
	}
	return out
}

// sameMap reports whether a and b are the same map (not equal contents).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// stripAffinity removes c's pins from every required node selector term and
// prunes what that leaves empty: terms, the required selector, nodeAffinity
// and affinity itself (nil). changed is false when there was nothing to do.
func stripAffinity(aff map[string]any, c *contributions) (stripped any, changed bool) {
	if na, ok := aff["nodeAffinity"].(map[string]any); ok {
		if required, ok := na[requiredKey].(map[string]any); ok {
			if terms, ok := required["nodeSelectorTerms"].([]any); ok {
				kept, termsChanged := stripTerms(terms, c)
				if termsChanged || len(kept) == 0 {
					required, changed = setOrDrop(required, "nodeSelectorTerms", kept), true
				}
			}
			if changed || len(required) == 0 {
				na, changed = setOrDrop(na, requiredKey, required), true
			}
		}
		if changed || len(na) == 0 {
			aff, changed = setOrDrop(aff, "nodeAffinity", na), true
		}
	}
	if len(aff) == 0 {
		return nil, true
	}
	return aff, changed
}

const requiredKey = "requiredDuringSchedulingIgnoredDuringExecution"

// stripTerms removes c's pins from each node selector term and drops the
// terms that leaves empty.
func stripTerms(terms []any, c *contributions) (kept []any, changed bool) {
	kept = make([]any, 0, len(terms))
	for _, t := range terms {
		tm, ok := t.(map[string]any)
		if !ok {
			kept = append(kept, t)
			continue
		}
		if exprs, ok := tm["matchExpressions"].([]any); ok {
			left := make([]any, 0, len(exprs))
			for _, e := range exprs {
				if !c.isPin(e) {
					left = append(left, e)
				}
			}
			if len(left) != len(exprs) || len(left) == 0 {
				tm, changed = setOrDrop(tm, "matchExpressions", left), true
			}
		}
		if len(tm) == 0 {
			changed = true
			continue
		}
		kept = append(kept, tm)
	}
	return kept, changed
}

// setOrDrop returns a copy of m with key set to v, or without key when v is
// an empty map or list.
func setOrDrop[V map[string]any | []any](m map[string]any, key string, v V) map[string]any {
	m = maps.Clone(m)
	if len(v) == 0 {
		delete(m, key)
	} else {
		m[key] = v
	}
	return m
}

// stripDecision takes the recorded decision's contributions away from every
// pod set of obj, for placing it again. It returns the stripped object (obj
// is not modified; what changed is copied) and the patch operations that
// turn obj into it, which the new decision's patch then follows.
func stripDecision(obj map[string]any, w *workload.Workload, rec *Decision, keys workload.LabelKeys) (map[string]any, []PatchOp) {
	var ops []PatchOp
	out := obj
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		specPtr := ps.Pointer + "/spec"
		spec, _ := pointerGet(out, specPtr).(map[string]any)
		contrib := contributionsFor(rec, keys, ps.GPU.Count > 0)
		stripped := stripSpec(spec, &contrib, keys)
		if sameMap(stripped, spec) {
			continue
		}
		for _, f := range []string{fieldAffinity, fieldNodeSelector, fieldTolerations} {
			v, has := stripped[f]
			switch {
			case reflect.DeepEqual(v, spec[f]):
			case has:
				ops = append(ops, PatchOp{Op: "replace", Path: specPtr + "/" + f, Value: v})
			default:
				ops = append(ops, PatchOp{Op: "remove", Path: specPtr + "/" + f})
			}
		}
		out = withValue(out, specPtr, stripped)
	}
	return out, ops
}

// samePins reports whether two decisions pin pods alike (contributionsFor).
func samePins(a, b *Decision) bool {
	return a.Cloud == b.Cloud && a.Region == b.Region && a.InstanceType == b.InstanceType && a.CapacityType == b.CapacityType
}

// withValue returns a copy of node with the value at ptr replaced, copying
// only the maps and slices on the way.
func withValue(node map[string]any, ptr string, value any) map[string]any {
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	var set func(n any, toks []string) any
	set = func(n any, toks []string) any {
		if len(toks) == 0 {
			return value
		}
		tok := pointerUnescaper.Replace(toks[0])
		switch c := n.(type) {
		case map[string]any:
			c = maps.Clone(c)
			c[tok] = set(c[tok], toks[1:])
			return c
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return c
			}
			c = append([]any(nil), c...)
			c[i] = set(c[i], toks[1:])
			return c
		default:
			return n
		}
	}
	m, _ := set(node, toks).(map[string]any)
	return m
}

// withoutUsage is usage less what the object's own pods hold: an object
// placed again never competes with itself for quota. usage is shared and
// never modified.
func withoutUsage(usage, own quota.GPUCounts) quota.GPUCounts {
	if len(own) == 0 || len(usage) == 0 {
		return usage
	}
	out := maps.Clone(usage)
	for k, n := range own {
		if left := out[k] - n; left > 0 {
			out[k] = left
		} else {
			delete(out, k)
		}
	}
	return out
}

// deleting reports whether obj is being deleted: its remaining updates
// (finalizers removed) must never be refused.
func deleting(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	return meta["deletionTimestamp"] != nil
}

// decisionAnnotation is obj's decision annotation, "" if it has none.
func decisionAnnotation(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	raw, _ := ann[workload.AnnotationDecision].(string)
	return raw
}
