{{- define "dataplatform-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dataplatform-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "dataplatform-operator.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "dataplatform-operator.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dataplatform-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dataplatform-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dataplatform-operator.labels" -}}
{{ include "dataplatform-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "dataplatform-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dataplatform-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dataplatform-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* One replica acts at a time: with more than one, they elect a leader through a Lease. */}}
{{- define "dataplatform-operator.leaderElection" -}}
{{- if gt (int .Values.replicas) 1 -}}true{{- end -}}
{{- end -}}

{{- define "dataplatform-operator.leaseName" -}}
{{- default (include "dataplatform-operator.fullname" .) .Values.controller.leaderElection.leaseName -}}
{{- end -}}

{{/* The watched namespaces, comma-separated (empty: every namespace): watchNamespaces and the older
single watchNamespace together. */}}
{{- define "dataplatform-operator.watchNamespaces" -}}
{{- $namespaces := .Values.controller.watchNamespaces | default list -}}
{{- with .Values.controller.watchNamespace }}{{ $namespaces = append $namespaces . }}{{ end -}}
{{- $namespaces | uniq | join "," -}}
{{- end -}}
