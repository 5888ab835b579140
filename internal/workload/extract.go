package workload

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Extended resource names that mean "a GPU".
const (
	ResourceNvidiaGPU = "nvidia.com/gpu"
	ResourceAMDGPU    = "amd.com/gpu"
	resourceMIGPrefix = "nvidia.com/mig-"
)

// ErrNotWorkload is returned for kinds the extractor has no rule for.
var ErrNotWorkload = errors.New("not a supported workload kind")

// ObjectError is a malformed object: a field with the wrong type or an
// impossible value. Path is dotted from the object root.
type ObjectError struct {
	Path string
	Msg  string
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Msg) }

// Options configures an Extractor.
type Options struct {
	// Rules replace DefaultRules when set; add to DefaultRules() to keep
	// the built-in kinds.
	Rules []Rule
	// Labels are the node label keys placement pins on.
	Labels LabelKeys
	// Jurisdictions, when set, are the only residency values accepted.
	Jurisdictions []string
}

// Extractor turns objects into Workloads. It is immutable after New and safe
// for concurrent use.
type Extractor struct {
	rules            map[string]compiledRule // group + "/" + kind
	labels           LabelKeys
	jurisdictions    map[string]bool
	jurisdictionList []string
}

// New compiles the rules once.
func New(opts Options) (*Extractor, error) {
	rules := opts.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	x := &Extractor{rules: map[string]compiledRule{}, labels: opts.Labels.withDefaults()}
	for _, r := range rules {
		cr, err := compileRule(r)
		if err != nil {
			return nil, err
		}
		x.rules[r.Group+"/"+r.Kind] = cr
	}
	if len(opts.Jurisdictions) > 0 {
		x.jurisdictions = map[string]bool{}
		for _, j := range opts.Jurisdictions {
			if !x.jurisdictions[j] {
				x.jurisdictions[j] = true
				x.jurisdictionList = append(x.jurisdictionList, j)
			}
		}
		sort.Strings(x.jurisdictionList)
	}
	return x, nil
}

// Labels returns the node label keys in use.
func (x *Extractor) Labels() LabelKeys { return x.labels }

// Supports reports whether objects of apiVersion and kind have a rule.
func (x *Extractor) Supports(apiVersion, kind string) bool {
	_, ok := x.rules[groupOf(apiVersion)+"/"+kind]
	return ok
}

// MayRequestGPU is a conservative byte-level pre-check: false means the raw
// JSON or YAML cannot ask for a GPU, so callers may skip decoding entirely.
// It never returns false for an object that does ask for one.
func MayRequestGPU(raw []byte) bool {
	return bytes.Contains(raw, []byte("nvidia.com/")) || bytes.Contains(raw, []byte("amd.com/gpu"))
}

func groupOf(apiVersion string) string {
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		return g
	}
	return ""
}

// Extract builds the Workload of a decoded object. nsLabels are the labels of
// the object's namespace (may be nil). It returns ErrNotWorkload for kinds
// without a rule, *ObjectError for malformed objects and *AnnotationError for
// malformed annotations. A workload without GPUs is returned without error;
// callers check RequestsGPU.
func (x *Extractor) Extract(obj map[string]any, nsLabels map[string]string) (*Workload, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return nil, &ObjectError{Path: "kind", Msg: "missing"}
	}
	rule, ok := x.rules[groupOf(apiVersion)+"/"+kind]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", apiVersion, kind, ErrNotWorkload)
	}
	meta, err := mapAt(obj, "metadata")
	if err != nil {
		return nil, err
	}
	w := &Workload{APIVersion: apiVersion, Kind: kind, Class: rule.Class}
	w.Namespace, _ = meta["namespace"].(string)
	w.Name, _ = meta["name"].(string)
	if w.Name == "" {
		w.Name, _ = meta["generateName"].(string)
	}
	if w.Annotations, err = stringMap(meta, "metadata.annotations", "annotations"); err != nil {
		return nil, err
	}
	var templateAnnotations []map[string]string
	for _, ps := range rule.podSets {
		err := walk(obj, ps.each, "", nil, func(elem any, ptr string, names []string) error {
			set, ann, err := x.podSet(ps, elem, ptr, names)
			if err != nil {
				return err
			}
			w.PodSets = append(w.PodSets, set)
			templateAnnotations = append(templateAnnotations, ann)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	get := func(key string) (string, bool) {
		if v, ok := w.Annotations[key]; ok {
			return v, true
		}
		for _, a := range templateAnnotations {
			if v, ok := a[key]; ok {
				return v, true
			}
		}
		return "", false
	}
	if err := x.parseAnnotations(w, get, nsLabels); err != nil {
		return nil, err
	}
	if err := checkGPUConsistency(w); err != nil {
		return nil, err
	}
	return w, nil
}

// walk visits every element that a path with "*" segments selects.
func walk(node any, segs []string, ptr string, names []string, fn func(any, string, []string) error) error {
	if len(segs) == 0 {
		return fn(node, ptr, names)
	}
	seg := segs[0]
	if seg != "*" {
		m, ok := node.(map[string]any)
		if !ok {
			return &ObjectError{Path: dotted(ptr), Msg: "want an object"}
		}
		child, ok := m[seg]
		if !ok || child == nil {
			return nil // an absent optional group selects nothing
		}
		return walk(child, segs[1:], ptr+"/"+escapePointer(seg), names, fn)
	}
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := walk(n[k], segs[1:], ptr+"/"+escapePointer(k), append(names[:len(names):len(names)], k), fn); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range n {
			name := strconv.Itoa(i)
			if m, ok := item.(map[string]any); ok {
				if gn, ok := m["groupName"].(string); ok && gn != "" {
					name = gn // Ray names its worker groups
				}
			}
			if err := walk(item, segs[1:], ptr+"/"+strconv.Itoa(i), append(names[:len(names):len(names)], name), fn); err != nil {
				return err
			}
		}
	default:
		return &ObjectError{Path: dotted(ptr), Msg: "want an object or a list"}
	}
	return nil
}

func (x *Extractor) podSet(ps compiledPodSet, elem any, ptr string, names []string) (PodSet, map[string]string, error) {
	set := PodSet{Name: ps.rule.Name}
	if len(names) > 0 {
		set.Name = strings.Join(names, "/")
	}
	if set.Name == "" {
		set.Name = "template"
	}
	replicas, err := replicaCount(elem, ps, ptr)
	if err != nil {
		return set, nil, err
	}
	set.Replicas = replicas
	if len(ps.replicas) > 0 {
		set.ReplicasPointer = ptr
		for _, seg := range ps.replicas {
			set.ReplicasPointer += "/" + escapePointer(seg)
		}
	}
	tmplNode, tmplPtr := elem, ptr
	for _, seg := range ps.template {
		m, ok := tmplNode.(map[string]any)
		if !ok {
			return set, nil, &ObjectError{Path: dotted(tmplPtr), Msg: "want an object"}
		}
		tmplNode, tmplPtr = m[seg], tmplPtr+"/"+escapePointer(seg)
	}
	tmpl, ok := tmplNode.(map[string]any)
	if !ok {
		return set, nil, &ObjectError{Path: dotted(tmplPtr), Msg: "want a pod template object"}
	}
	set.Pointer = tmplPtr
	meta, err := mapAt(tmpl, "metadata")
	if err != nil {
		return set, nil, prefixErr(tmplPtr, err)
	}
	ann, err := stringMap(meta, dotted(tmplPtr+"/metadata/annotations"), "annotations")
	if err != nil {
		return set, nil, err
	}
	spec, err := mapAt(tmpl, "spec")
	if err != nil {
		return set, nil, prefixErr(tmplPtr, err)
	}
	if err := x.readPodSpec(&set, spec, dotted(tmplPtr+"/spec")); err != nil {
		return set, nil, err
	}
	return set, ann, nil
}

func replicaCount(elem any, ps compiledPodSet, ptr string) (int32, error) {
	def := ps.rule.DefaultReplicas
	if def == 0 {
		def = 1
	}
	for _, path := range [][]string{ps.replicas, ps.minReplicas} {
		if len(path) == 0 {
			continue
		}
		v, found := lookup(elem, path)
		if !found || v == nil {
			continue
		}
		f, ok := v.(float64)
		switch n := v.(type) {
		case int64:
			f, ok = float64(n), true
		case int:
			f, ok = float64(n), true
		}
		if !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
			return 0, &ObjectError{Path: dotted(ptr) + "." + strings.Join(path, "."), Msg: "replica count " + describeValue(v) + ": want a non-negative integer (at most 2147483647)"}
		}
		return int32(f), nil
	}
	return def, nil
}

func lookup(node any, path []string) (any, bool) {
	for _, seg := range path {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return node, true
}

// readPodSpec fills the pod set's demand, security-relevant fields and pin.
func (x *Extractor) readPodSpec(set *PodSet, spec map[string]any, path string) error {
	var err error
	if set.ServiceAccount, err = stringAt(spec, path, "serviceAccountName"); err != nil {
		return err
	}
	if set.ServiceAccount == "" {
		set.ServiceAccount = "default"
	}
	set.HostNetwork, _ = spec["hostNetwork"].(bool)
	set.HostPID, _ = spec["hostPID"].(bool)
	if set.NodeSelector, err = stringMap(spec, path+".nodeSelector", "nodeSelector"); err != nil {
		return err
	}
	sum, err := x.containerDemand(set, spec, path, "containers", false)
	if err != nil {
		return err
	}
	initMax, err := x.containerDemand(set, spec, path, "initContainers", true)
	if err != nil {
		return err
	}
	// Kubernetes sizes a pod at the larger of its containers' sum and its
	// largest init container, resource by resource.
	set.CPUMilli = max(sum.cpu, initMax.cpu)
	set.MemoryBytes = max(sum.mem, initMax.mem)
	switch {
	case sum.gpuRes != "" && initMax.gpuRes != "" && sum.gpuRes != initMax.gpuRes:
		return &ObjectError{Path: path, Msg: fmt.Sprintf("containers ask for %s and init containers for %s: one pod may use one kind of GPU", sum.gpuRes, initMax.gpuRes)}
	case sum.gpuRes != "":
		set.GPU = GPUDemand{Resource: sum.gpuRes, Count: max(sum.gpu, initMax.gpu)}
	case initMax.gpuRes != "":
		set.GPU = GPUDemand{Resource: initMax.gpuRes, Count: initMax.gpu}
	}
	if set.GPU.Count > 0 {
		if p, ok := strings.CutPrefix(set.GPU.Resource, resourceMIGPrefix); ok {
			mig, err := ParseMIGProfile(p)
			if err != nil {
				return &ObjectError{Path: path, Msg: err.Error()}
			}
			set.GPU.MIG = mig
		}
	}
	if set.Volumes, err = readVolumes(spec, path); err != nil {
		return err
	}
	set.Pin, err = x.readPin(spec, set.NodeSelector, path)
	return err
}

type demand struct {
	cpu, mem, gpu int64
	gpuRes        string
}

func isGPUResource(name string) bool {
	return name == ResourceNvidiaGPU || name == ResourceAMDGPU || strings.HasPrefix(name, resourceMIGPrefix)
}

// containerDemand sums (or, for init containers, maxes) the containers'
// effective requests: the request, or the limit where no request is set.
func (x *Extractor) containerDemand(set *PodSet, spec map[string]any, path, field string, isInit bool) (demand, error) {
	var d demand
	raw, ok := spec[field]
	if !ok || raw == nil {
		return d, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return d, &ObjectError{Path: path + "." + field, Msg: "want a list"}
	}
	for i, item := range list {
		cpath := path + "." + field + "[" + strconv.Itoa(i) + "]"
		c, ok := item.(map[string]any)
		if !ok {
			return d, &ObjectError{Path: cpath, Msg: "want a container object"}
		}
		if img, ok := c["image"].(string); ok && img != "" && !slices.Contains(set.Images, img) {
			set.Images = append(set.Images, img)
		}
		if sc, ok := c["securityContext"].(map[string]any); ok {
			if p, _ := sc["privileged"].(bool); p {
				set.Privileged = true
			}
		}
		cd, err := containerResources(c, cpath)
		if err != nil {
			return d, err
		}
		if cd.gpuRes != "" {
			if d.gpuRes != "" && d.gpuRes != cd.gpuRes {
				return d, &ObjectError{Path: cpath, Msg: fmt.Sprintf("asks for %s while another container asks for %s: one pod may use one kind of GPU", cd.gpuRes, d.gpuRes)}
			}
			d.gpuRes = cd.gpuRes
		}
		if isInit {
			d.cpu, d.mem, d.gpu = max(d.cpu, cd.cpu), max(d.mem, cd.mem), max(d.gpu, cd.gpu)
		} else {
			d.cpu, d.mem, d.gpu = d.cpu+cd.cpu, d.mem+cd.mem, d.gpu+cd.gpu
		}
	}
	return d, nil
}

func containerResources(c map[string]any, path string) (demand, error) {
	var d demand
	res, ok := c["resources"]
	if !ok || res == nil {
		return d, nil
	}
	rm, ok := res.(map[string]any)
	if !ok {
		return d, &ObjectError{Path: path + ".resources", Msg: "want an object"}
	}
	requests, err := quantityMap(rm, path+".resources.requests", "requests")
	if err != nil {
		return d, err
	}
	limits, err := quantityMap(rm, path+".resources.limits", "limits")
	if err != nil {
		return d, err
	}
	effective := func(name string) (resource.Quantity, bool) {
		if q, ok := requests[name]; ok {
			return q, true
		}
		q, ok := limits[name]
		return q, ok
	}
	for name, req := range requests {
		// The API server refuses a device whose request and limit differ;
		// placing it by its request would decide on an object that can
		// never exist.
		if lim, ok := limits[name]; ok && isGPUResource(name) && req.Cmp(lim) != 0 {
			return d, &ObjectError{Path: path + ".resources", Msg: fmt.Sprintf("requests %s %s but limits %s: a device's request must equal its limit (or be left out)",
				name, req.String(), lim.String())}
		}
	}
	if q, ok := effective("cpu"); ok {
		d.cpu = q.MilliValue()
	}
	if q, ok := effective("memory"); ok {
		d.mem = q.Value()
	}
	for _, m := range []map[string]resource.Quantity{requests, limits} {
		for name := range m {
			if !isGPUResource(name) {
				continue
			}
			if d.gpuRes != "" && d.gpuRes != name {
				return d, &ObjectError{Path: path + ".resources", Msg: fmt.Sprintf("asks for both %s and %s: one container may use one kind of GPU", d.gpuRes, name)}
			}
			q, _ := effective(name)
			n, ok := q.AsInt64()
			if !ok || n < 0 || n > maxDevices {
				// Quote the value as written: Quantity.String() canonicalises
				// (1e12 reads "1T") and rounds what it cannot hold (1e30
				// reads "1"), which names a value the user never wrote.
				return d, &ObjectError{Path: path + ".resources", Msg: fmt.Sprintf("%s %s: want a whole number of devices, at most %d",
					name, writtenQuantity(rm, name, q), maxDevices)}
			}
			d.gpuRes, d.gpu = name, n
		}
	}
	return d, nil
}

// maxDevices bounds a container's GPU count: far above any node, low
// enough that products with replica counts cannot overflow.
const maxDevices = 1 << 20

// writtenQuantity is resource name's effective quantity as the manifest
// wrote it (requests first, then limits), for messages.
func writtenQuantity(resources map[string]any, name string, q resource.Quantity) string {
	for _, field := range []string{"requests", "limits"} {
		m, _ := resources[field].(map[string]any)
		if v, ok := m[name]; ok {
			if s, ok := v.(string); ok {
				return s
			}
			return describeValue(v)
		}
	}
	return q.String()
}

// describeValue shows a decoded JSON value as the manifest wrote it: a
// string quoted and called a string (replicas: "2" is not the number 2),
// a number in full rather than rounded.
func describeValue(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("%q (a string)", t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case int64, int, int32:
		return fmt.Sprint(t)
	case bool:
		return fmt.Sprintf("%v (a boolean)", t)
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

func quantityMap(m map[string]any, path, field string) (map[string]resource.Quantity, error) {
	raw, ok := m[field]
	if !ok || raw == nil {
		return nil, nil
	}
	rm, ok := raw.(map[string]any)
	if !ok {
		return nil, &ObjectError{Path: path, Msg: "want a map of resource quantities"}
	}
	out := make(map[string]resource.Quantity, len(rm))
	for name, v := range rm {
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case float64:
			s = strconv.FormatFloat(t, 'f', -1, 64)
		case int64: // objects built in Go rather than decoded from JSON
			s = strconv.FormatInt(t, 10)
		case int:
			s = strconv.Itoa(t)
		default:
			return nil, &ObjectError{Path: path + "." + name, Msg: fmt.Sprintf("%v: want a quantity", v)}
		}
		q, err := resource.ParseQuantity(s)
		if err != nil || q.Sign() < 0 {
			shown := strconv.Quote(s)
			if _, isString := v.(string); !isString {
				shown = describeValue(v) // as written (-1e+30), not as reformatted for parsing
			}
			return nil, &ObjectError{Path: path + "." + name, Msg: shown + ": want a non-negative quantity such as 8, 500m or 64Gi"}
		}
		out[name] = q
	}
	return out, nil
}

func readVolumes(spec map[string]any, path string) ([]Volume, error) {
	raw, ok := spec["volumes"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, &ObjectError{Path: path + ".volumes", Msg: "want a list"}
	}
	out := make([]Volume, 0, len(list))
	for i, item := range list {
		v, ok := item.(map[string]any)
		if !ok {
			return nil, &ObjectError{Path: path + ".volumes[" + strconv.Itoa(i) + "]", Msg: "want a volume object"}
		}
		vol := Volume{}
		vol.Name, _ = v["name"].(string)
		for k, src := range v {
			if k == "name" {
				continue
			}
			vol.Kind = k
			sm, _ := src.(map[string]any)
			switch k {
			case "persistentVolumeClaim":
				vol.ClaimName, _ = sm["claimName"].(string)
			case "ephemeral":
				if tmpl, ok := sm["volumeClaimTemplate"].(map[string]any); ok {
					if s, ok := tmpl["spec"].(map[string]any); ok {
						vol.StorageClass, _ = s["storageClassName"].(string)
					}
				}
			}
		}
		out = append(out, vol)
	}
	return out, nil
}

// checkGPUConsistency rejects gangs whose GPU pod sets disagree on the kind of
// GPU: the whole gang goes to one instance type.
func checkGPUConsistency(w *Workload) error {
	var first *PodSet
	for i := range w.PodSets {
		ps := &w.PodSets[i]
		if ps.GPU.Count == 0 {
			continue
		}
		if first == nil {
			first = ps
			continue
		}
		if ps.GPU.Resource != first.GPU.Resource {
			return &ObjectError{Path: "spec", Msg: fmt.Sprintf("pod set %s asks for %s and pod set %s for %s: a gang runs on one instance type, so all its pod sets must use one kind of GPU", first.Name, first.GPU.Resource, ps.Name, ps.GPU.Resource)}
		}
	}
	return nil
}

func mapAt(m map[string]any, key string) (map[string]any, error) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return map[string]any{}, nil
	}
	out, ok := raw.(map[string]any)
	if !ok {
		return nil, &ObjectError{Path: key, Msg: "want an object"}
	}
	return out, nil
}

func stringAt(m map[string]any, path, key string) (string, error) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return "", nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", &ObjectError{Path: path + "." + key, Msg: "want a string"}
	}
	return s, nil
}

func stringMap(m map[string]any, path, key string) (map[string]string, error) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return nil, nil
	}
	rm, ok := raw.(map[string]any)
	if !ok {
		return nil, &ObjectError{Path: path, Msg: "want a map of strings"}
	}
	out := make(map[string]string, len(rm))
	for k, v := range rm {
		s, ok := v.(string)
		if !ok {
			return nil, &ObjectError{Path: path + "." + k, Msg: "want a string"}
		}
		out[k] = s
	}
	return out, nil
}

func prefixErr(ptr string, err error) error {
	var oe *ObjectError
	if errors.As(err, &oe) {
		return &ObjectError{Path: dotted(ptr) + "." + oe.Path, Msg: oe.Msg}
	}
	return err
}

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}

// EscapePointer escapes one JSON pointer token (RFC 6901), for patch builders.
func EscapePointer(s string) string { return escapePointer(s) }

// dotted turns a JSON pointer into the dotted path users read in errors.
func dotted(ptr string) string {
	if ptr == "" {
		return "(object)"
	}
	s := strings.ReplaceAll(strings.TrimPrefix(ptr, "/"), "/", ".")
	return pointerUnescaper.Replace(s)
}

// Replacers are built once; building one costs more than using it.
var (
	pointerEscaper   = strings.NewReplacer("~", "~0", "/", "~1")
	pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")
)
