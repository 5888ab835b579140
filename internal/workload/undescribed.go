package workload

import (
	"slices"
	"strconv"
	"strings"
)

// GPUSpecsIn returns the paths (dotted, as in error messages) of the pod
// specs in obj whose containers ask for a GPU, for a kind the extractor has
// no rule for: such an object is not placed or judged, and its author
// should hear why rather than see it pass as "no GPU requested". A pod spec
// is recognised by its shape (a "containers" list of objects with
// resources), wherever it is nested. Paths are sorted.
func GPUSpecsIn(obj map[string]any) []string {
	var found []string
	var walk func(node any, path string, depth int)
	walk = func(node any, path string, depth int) {
		if depth > 64 { // deeper than any pod template nests; bounds a hostile object
			return
		}
		switch n := node.(type) {
		case map[string]any:
			if containersAskForGPU(n["containers"]) || containersAskForGPU(n["initContainers"]) {
				found = append(found, strings.TrimPrefix(path, "."))
				return
			}
			for k, v := range n {
				walk(v, path+"."+k, depth+1)
			}
		case []any:
			for i, v := range n {
				walk(v, path+"["+strconv.Itoa(i)+"]", depth+1)
			}
		}
	}
	walk(obj, "", 0)
	slices.Sort(found)
	return found
}

func containersAskForGPU(v any) bool {
	list, _ := v.([]any)
	for _, c := range list {
		cm, _ := c.(map[string]any)
		res, _ := cm["resources"].(map[string]any)
		for _, field := range []string{"limits", "requests"} {
			m, _ := res[field].(map[string]any)
			for name := range m {
				if isGPUResource(name) {
					return true
				}
			}
		}
	}
	return false
}
