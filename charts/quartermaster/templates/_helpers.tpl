{{/* The chart's name, overridable. */}}
{{- define "quartermaster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The base name of every object: the release name, prefixed with the chart name unless it already contains it. */}}
{{- define "quartermaster.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "quartermaster.webhookName" -}}{{ include "quartermaster.fullname" . | trunc 55 | trimSuffix "-" }}-webhook{{- end }}
{{- define "quartermaster.auditorName" -}}{{ include "quartermaster.fullname" . | trunc 55 | trimSuffix "-" }}-auditor{{- end }}
{{- define "quartermaster.tlsSecret" -}}{{ include "quartermaster.webhookName" . }}-tls{{- end }}

{{/* Labels on every object. */}}
{{- define "quartermaster.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "quartermaster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "webhook"). */}}
{{- define "quartermaster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quartermaster.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "quartermaster.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Does the chart need a serving certificate of its own? Whenever the webhook Deployment runs in the cluster. */}}
{{- define "quartermaster.inClusterTLS" -}}
{{- if .Values.webhook.inCluster }}true{{ end }}
{{- end }}

{{/*
CEL: does the pod spec at path P request a GPU (any nvidia.com/* resource, MIG profiles included, or amd.com/gpu)
in a container or init container? Every level is guarded with has(): a missing field must make the expression false,
never an error, because an error applies the failure policy to objects that have nothing to do with GPUs.
Call with (dict "p" "object.spec.template.spec").
*/}}
{{- define "quartermaster.celPodSpecGPU" -}}
{{- $gpu := "(has(c.resources) && ((has(c.resources.limits) && c.resources.limits.exists(k, k.startsWith('nvidia.com/') || k == 'amd.com/gpu')) || (has(c.resources.requests) && c.resources.requests.exists(k, k.startsWith('nvidia.com/') || k == 'amd.com/gpu'))))" -}}
((has({{ .p }}.containers) && {{ .p }}.containers.exists(c, {{ $gpu }})) || (has({{ .p }}.initContainers) && {{ .p }}.initContainers.exists(c, {{ $gpu }})))
{{- end }}

{{/* CEL: "has(a.b) && has(a.b.c) && ..." for a dotted path below object, so that deeper steps are safe. */}}
{{- define "quartermaster.celHas" -}}
{{- $parts := splitList "." . }}
{{- $acc := first $parts }}
{{- $out := list }}
{{- range rest $parts }}
{{- $acc = printf "%s.%s" $acc . }}
{{- $out = append $out (printf "has(%s)" $acc) }}
{{- end }}
{{- join " && " $out }}
{{- end }}

{{/*
CEL: does the object request a GPU anywhere the workload extractor looks (internal/workload DefaultRules): a Pod's
spec, a template (Deployment, StatefulSet, ReplicaSet, Job), a CronJob's job template, Kubeflow replica specs and Ray
head and worker groups.
*/}}
{{- define "quartermaster.celRequestsGPU" -}}
{{- $terms := list }}
{{- range $path := list "object.spec" "object.spec.template.spec" "object.spec.jobTemplate.spec.template.spec" }}
{{- $terms = append $terms (printf "(%s && %s)" (include "quartermaster.celHas" $path) (include "quartermaster.celPodSpecGPU" (dict "p" $path))) }}
{{- end }}
{{- range $field := list "pytorchReplicaSpecs" "tfReplicaSpecs" "mpiReplicaSpecs" }}
{{- $p := printf "object.spec.%s[r].template.spec" $field }}
{{- $terms = append $terms (printf "(has(object.spec) && has(object.spec.%s) && object.spec.%s.exists(r, has(object.spec.%s[r].template) && has(object.spec.%s[r].template.spec) && %s))" $field $field $field $field (include "quartermaster.celPodSpecGPU" (dict "p" $p))) }}
{{- end }}
{{- range $prefix := list "object.spec" "object.spec.rayClusterSpec" }}
{{- $head := printf "%s.headGroupSpec.template.spec" $prefix }}
{{- $terms = append $terms (printf "(%s && %s)" (include "quartermaster.celHas" $head) (include "quartermaster.celPodSpecGPU" (dict "p" $head))) }}
{{- $terms = append $terms (printf "(%s && %s.workerGroupSpecs.exists(g, has(g.template) && has(g.template.spec) && %s))" (include "quartermaster.celHas" (printf "%s.workerGroupSpecs" $prefix)) $prefix (include "quartermaster.celPodSpecGPU" (dict "p" "g.template.spec"))) }}
{{- end }}
{{- /* Kinds from workloadRules keep their pod templates where their rule says, which these paths need not cover:
every object of such a kind is sent, and the webhook's own byte-level check answers those without GPUs at once. */}}
{{- range .Values.workloadRules }}
{{- $terms = append $terms (printf "(request.kind.group == '%s' && request.kind.kind == '%s')" .group .kind) }}
{{- end }}
{{- join " || " $terms }}
{{- end }}

{{/* The namespaces that never reach the webhook. */}}
{{- define "quartermaster.excludedNamespaces" -}}
{{- $ns := concat (list "kube-system" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq }}
{{- toJson $ns }}
{{- end }}

{{- /*
celNotFromPlacedTemplate: false for objects a known controller makes from a template the webhook already placed, so
that they are not judged twice (they carry none of their owner's annotations to be judged on, and re-judging them
against a quota their siblings fill would stall scaling): pods of ReplicaSets, StatefulSets, DaemonSets, Jobs,
Kubeflow jobs and Ray clusters; ReplicaSets of Deployments; Jobs of CronJobs; RayClusters of RayJobs. Any other owner
reference, or one without controller: true, does not exempt: a bare GPU Pod with a made-up owner is still judged.
*/}}
{{- define "quartermaster.celNotFromPlacedTemplate" -}}
!has(object.metadata.ownerReferences) || !object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && (
  (request.kind.kind == 'Pod' && (
    (r.apiVersion == 'apps/v1' && r.kind in ['ReplicaSet', 'StatefulSet', 'DaemonSet']) ||
    (r.apiVersion == 'batch/v1' && r.kind == 'Job') ||
    (r.apiVersion.startsWith('kubeflow.org/') && r.kind in ['PyTorchJob', 'TFJob', 'MPIJob']) ||
    (r.apiVersion.startsWith('ray.io/') && r.kind == 'RayCluster'))) ||
  (request.kind.kind == 'ReplicaSet' && r.apiVersion == 'apps/v1' && r.kind == 'Deployment') ||
  (request.kind.kind == 'Job' && r.apiVersion == 'batch/v1' && r.kind == 'CronJob') ||
  (request.kind.kind == 'RayCluster' && r.apiVersion.startsWith('ray.io/') && r.kind == 'RayJob')))
{{- end }}
