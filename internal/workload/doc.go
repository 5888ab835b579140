// Package workload turns any supported Kubernetes object into a Workload: the
// normalised GPU demand that policy and placement reason about.
//
// It knows where pod templates live in Pod, Job, CronJob, Deployment,
// StatefulSet and ReplicaSet, and, through configurable paths, in custom
// resources such as Kubeflow's PyTorchJob and Ray's RayCluster and RayJob
// (see Rule and DefaultRules). It reads the quartermaster.io/* annotations of
// contract 4.1 strictly: a malformed value is an *AnnotationError naming the
// annotation, the value and what was expected.
//
// The package works on decoded JSON (map[string]any) rather than typed API
// structs so that one code path serves built-in kinds and CRDs alike, and it
// imports no admission types: the webhook, the auditor and qm share it.
package workload
