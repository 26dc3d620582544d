{{- /* Egress every pod of the release needs when egress is restricted: DNS, and the extra peers (e.g. an OTLP collector). */}}
{{- define "invoicer.egressBase" -}}
- ports:
    - { protocol: UDP, port: 53 }
    - { protocol: TCP, port: 53 }
{{- with .Values.networkPolicy.egress.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- define "invoicer.toServer" -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "invoicer.selectorLabels" (dict "root" . "component" "server") | nindent 10 }}
  ports:
    - { protocol: TCP, port: {{ .Values.server.port }} }
{{- end }}
{{- define "invoicer.toPostgres" -}}
- ports:
    - { protocol: TCP, port: {{ .Values.postgresql.port }} }
  {{- with .Values.networkPolicy.egress.postgresqlTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- define "invoicer.toKafka" -}}
- ports:
    - { protocol: TCP, port: {{ .Values.kafka.port }} }
  {{- with .Values.networkPolicy.egress.kafkaTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
