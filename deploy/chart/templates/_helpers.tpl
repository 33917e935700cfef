{{- define "lockstep.labels" -}}
app.kubernetes.io/name: lockstep
{{- end -}}
