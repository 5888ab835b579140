{{/* The ConfigMap the catalog refresh writes, and the name of its CronJob, ServiceAccount and Role. */}}
{{- define "quartermaster.catalogName" -}}{{ include "quartermaster.fullname" . | trunc 55 | trimSuffix "-" }}-catalog{{- end }}

{{/*
The config volume of the webhook and the auditor: the shared ConfigMap, and with catalogRefresh.enabled the refreshed
catalog's ConfigMap projected beside it, so that /etc/quartermaster/config/catalog.csv is the refreshed one and both
binaries keep reading the path they always read. A projected ConfigMap is updated in place like a plain one: the
webhook's hot reload sees a refresh without a restart.
*/}}
{{- define "quartermaster.configVolume" -}}
{{- if .Values.catalogRefresh.enabled -}}
projected:
  sources:
    - configMap:
        name: {{ include "quartermaster.fullname" . }}-config
    - configMap:
        name: {{ include "quartermaster.catalogName" . }}
{{- else -}}
configMap:
  name: {{ include "quartermaster.fullname" . }}-config
{{- end }}
{{- end }}
