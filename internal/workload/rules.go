package workload

import (
	"fmt"
	"strings"
)

// Rule tells the extractor where the pod templates of one kind live.
// Built-in kinds and CRDs are described the same way, so supporting a new CRD
// is configuration, not code.
type Rule struct {
	// Group is the API group ("" for core, "apps", "kubeflow.org", ...).
	Group string `json:"group"`
	Kind  string `json:"kind"`
	// Class is the workload class objects of this kind have unless the
	// quartermaster.io/class annotation says otherwise.
	Class   Class        `json:"class"`
	PodSets []PodSetRule `json:"podSets"`
}

// PodSetRule locates one or more pod templates within an object.
//
// Paths are dot-separated field names. A "*" segment in Each iterates the
// values of a map (in key order) or the items of a list; the key or index
// becomes part of the pod set's name.
type PodSetRule struct {
	// Name names the pod set when Each has no "*" (e.g. "head").
	Name string `json:"name,omitempty"`
	// Each is the path of the element(s) holding a template; "" is the
	// object itself.
	Each string `json:"each,omitempty"`
	// Template is the template's path relative to the element; "" means the
	// element itself is pod-shaped (metadata + spec), as a Pod is.
	Template string `json:"template,omitempty"`
	// Replicas is the path of the replica count relative to the object when
	// Each is "", else relative to the element. Empty means DefaultReplicas.
	Replicas string `json:"replicas,omitempty"`
	// MinReplicas is read when Replicas is absent (Ray's minReplicas).
	MinReplicas string `json:"minReplicas,omitempty"`
	// DefaultReplicas applies when no count is set; 0 means 1.
	DefaultReplicas int32 `json:"defaultReplicas,omitempty"`
}

// DefaultRules covers the built-in workload kinds, Kubeflow's training jobs
// and Ray's clusters and jobs.
func DefaultRules() []Rule {
	tmpl := func(replicas string) []PodSetRule {
		return []PodSetRule{{Name: "template", Template: "spec.template", Replicas: replicas}}
	}
	kubeflow := func(kind, field string) Rule {
		return Rule{Group: "kubeflow.org", Kind: kind, Class: Training, PodSets: []PodSetRule{
			{Each: "spec." + field + ".*", Template: "template", Replicas: "replicas"},
		}}
	}
	ray := func(prefix string) []PodSetRule {
		return []PodSetRule{
			{Name: "head", Each: prefix + "headGroupSpec", Template: "template"},
			{Each: prefix + "workerGroupSpecs.*", Template: "template", Replicas: "replicas", MinReplicas: "minReplicas"},
		}
	}
	return []Rule{
		{Group: "", Kind: "Pod", Class: Batch, PodSets: []PodSetRule{{Name: "pod"}}},
		{Group: "apps", Kind: "Deployment", Class: Inference, PodSets: tmpl("spec.replicas")},
		{Group: "apps", Kind: "StatefulSet", Class: Inference, PodSets: tmpl("spec.replicas")},
		{Group: "apps", Kind: "ReplicaSet", Class: Inference, PodSets: tmpl("spec.replicas")},
		{Group: "batch", Kind: "Job", Class: Batch, PodSets: tmpl("spec.parallelism")},
		{Group: "batch", Kind: "CronJob", Class: Batch, PodSets: []PodSetRule{
			{Name: "template", Template: "spec.jobTemplate.spec.template", Replicas: "spec.jobTemplate.spec.parallelism"},
		}},
		kubeflow("PyTorchJob", "pytorchReplicaSpecs"),
		kubeflow("TFJob", "tfReplicaSpecs"),
		kubeflow("MPIJob", "mpiReplicaSpecs"),
		{Group: "ray.io", Kind: "RayCluster", Class: Training, PodSets: ray("spec.")},
		{Group: "ray.io", Kind: "RayJob", Class: Training, PodSets: ray("spec.rayClusterSpec.")},
	}
}

// compiledRule is a Rule with its paths split once, at construction.
type compiledRule struct {
	Rule
	podSets []compiledPodSet
}

type compiledPodSet struct {
	rule                                  PodSetRule
	each, template, replicas, minReplicas []string
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

func compileRule(r Rule) (compiledRule, error) {
	if r.Kind == "" {
		return compiledRule{}, fmt.Errorf("rule for group %q: kind is empty", r.Group)
	}
	switch r.Class {
	case Training, Inference, Batch:
	case "":
		r.Class = Batch
	default:
		return compiledRule{}, fmt.Errorf("rule %s: class %q: want training, inference or batch", r.Kind, r.Class)
	}
	if len(r.PodSets) == 0 {
		return compiledRule{}, fmt.Errorf("rule %s: no pod sets", r.Kind)
	}
	cr := compiledRule{Rule: r}
	for _, ps := range r.PodSets {
		for _, p := range []string{ps.Each, ps.Template, ps.Replicas, ps.MinReplicas} {
			for _, seg := range splitPath(p) {
				if seg == "" {
					return compiledRule{}, fmt.Errorf("rule %s: path %q has an empty segment", r.Kind, p)
				}
			}
		}
		for _, p := range []string{ps.Template, ps.Replicas, ps.MinReplicas} {
			if strings.Contains(p, "*") {
				return compiledRule{}, fmt.Errorf("rule %s: path %q: only each may contain *", r.Kind, p)
			}
		}
		if ps.DefaultReplicas < 0 {
			return compiledRule{}, fmt.Errorf("rule %s: defaultReplicas %d is negative", r.Kind, ps.DefaultReplicas)
		}
		cr.podSets = append(cr.podSets, compiledPodSet{rule: ps, each: splitPath(ps.Each),
			template: splitPath(ps.Template), replicas: splitPath(ps.Replicas), minReplicas: splitPath(ps.MinReplicas)})
	}
	return cr, nil
}
