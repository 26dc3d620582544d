{{- define "invoicer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "invoicer.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "invoicer.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "invoicer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: invoicer
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway") */}}
{{- define "invoicer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "invoicer.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "invoicer.componentLabels" -}}
{{ include "invoicer.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "invoicer.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "invoicer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "invoicer.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "invoicer.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "invoicer.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "invoicer.serverUrl" -}}
{{- printf "http://%s-server-pods:%d" (include "invoicer.fullname" .) (int .Values.server.port) -}}
{{- end -}}

{{/* An env entry read from the Secret: (dict "root" $ "name" "INTERNAL_TOKEN" "key" "..." "optional" false) */}}
{{- define "invoicer.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "invoicer.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{- define "invoicer.commonEnv" -}}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  value: {{ .Values.otel.tracesEndpoint | quote }}
- name: OTEL_SDK_DISABLED
  value: {{ .Values.otel.sdkDisabled | toString | quote }}
{{- end -}}

{{/* Env from a map of name: value, sorted, values quoted. */}}
{{- define "invoicer.mapEnv" -}}
{{- range $k := keys . | sortAlpha }}
- name: {{ $k }}
  value: {{ get $ $k | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the three Deployments: (dict "root" $ "c" .Values.gateway) */}}
{{- define "invoicer.podSpecCommon" -}}
serviceAccountName: {{ include "invoicer.serviceAccountName" .root }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ .root.Values.terminationGracePeriodSeconds }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # A writable temporary directory for libraries that write one; the root filesystem is read-only.
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- end -}}

{{- define "invoicer.preStop" -}}
{{- if gt (int .Values.preStopSleepSeconds) 0 }}
lifecycle:
  preStop:
    exec:
      command: ["sleep", "{{ .Values.preStopSleepSeconds }}"]
{{- end }}
{{- end -}}

{{- define "invoicer.validate" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if or (not .Values.secrets.create.internalToken) (not .Values.secrets.create.consumerToken) (not .Values.secrets.create.databaseUrl) -}}
{{- fail "secrets.existingSecret is empty: set it to the name of a Secret holding INTERNAL_TOKEN, CONSUMER_TOKEN and DATABASE_URL, or set secrets.create.internalToken, secrets.create.consumerToken and secrets.create.databaseUrl (throwaway clusters only)" -}}
{{- end -}}
{{- if or (lt (len .Values.secrets.create.internalToken) 16) (lt (len .Values.secrets.create.consumerToken) 16) -}}
{{- fail "secrets.create.internalToken and secrets.create.consumerToken must have 16+ characters" -}}
{{- end -}}
{{- if eq .Values.secrets.create.internalToken .Values.secrets.create.consumerToken -}}
{{- fail "secrets.create.consumerToken must differ from secrets.create.internalToken (the consumer must not hold the gateway's powers)" -}}
{{- end -}}
{{- end -}}
{{- if lt (int .Values.kafka.partitions) 1 -}}
{{- fail "kafka.partitions must be at least 1" -}}
{{- end -}}
{{- /* A NODE_OPTIONS set in env or extraEnv replaces the image's; one read from elsewhere (valueFrom) cannot be checked here. */ -}}
{{- range $component := list "gateway" "server" "consumer" -}}
{{- $values := index $.Values $component -}}
{{- $options := list -}}
{{- with $values.env -}}{{- if hasKey . "NODE_OPTIONS" -}}{{- $options = append $options (toString .NODE_OPTIONS) -}}{{- end -}}{{- end -}}
{{- range $values.extraEnv -}}{{- if and (eq .name "NODE_OPTIONS") (hasKey . "value") -}}{{- $options = append $options (toString .value) -}}{{- end -}}{{- end -}}
{{- range $options -}}
{{- if not (contains "--max-semi-space-size" .) -}}
{{- fail (printf "%s: a NODE_OPTIONS in env or extraEnv replaces the image's (--max-semi-space-size=16; docs/architecture.md): keep a --max-semi-space-size in it" $component) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if gt (int .Values.consumer.autoscaling.minReplicas) (int .Values.kafka.partitions) -}}
{{- fail (printf "consumer.autoscaling.minReplicas (%d) is above kafka.partitions (%d): the extra consumers would get no partition" (int .Values.consumer.autoscaling.minReplicas) (int .Values.kafka.partitions)) -}}
{{- end -}}
{{- end -}}
