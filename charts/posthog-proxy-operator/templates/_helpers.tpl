{{- define "ppo.name" -}}posthog-proxy-operator{{- end -}}
{{- /* 32 + 23 + "-metrics" stays within the 63 characters of a Service name. */ -}}
{{- define "ppo.fullname" -}}{{ .Release.Name | trunc 32 | trimSuffix "-" }}-posthog-proxy-operator{{- end -}}
{{- define "ppo.labels" -}}
app.kubernetes.io/name: {{ include "ppo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "ppo.selector" -}}
app.kubernetes.io/name: {{ include "ppo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "ppo.leaderElection" -}}{{ or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}{{- end -}}
