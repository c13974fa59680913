{{/* Names and labels. */}}
{{- define "trainyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "trainyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "trainyard.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "trainyard.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "trainyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trainyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "trainyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "trainyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "trainyard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "trainyard.serviceAccountName" -}}
{{- default (include "trainyard.fullname" .) .Values.executor.serviceAccount.name -}}
{{- end -}}

{{- define "trainyard.databaseSecretName" -}}
{{- default (printf "%s-database" (include "trainyard.fullname" .)) .Values.database.secretName -}}
{{- end -}}

{{- define "trainyard.dagsFolder" -}}
{{- if eq .Values.dags.source "gitSync" -}}
{{- printf "%s/current" .Values.dags.path -}}{{- with .Values.dags.gitSync.subPath }}/{{ trimAll "/" . }}{{- end -}}
{{- else -}}
{{- .Values.dags.path -}}
{{- end -}}
{{- end -}}

{{- define "trainyard.dagsClaimName" -}}
{{- default (printf "%s-dags" (include "trainyard.fullname" .)) .Values.dags.pvc.existingClaim -}}
{{- end -}}

{{/* The env every Trainyard container gets: the ConfigMap, then the Secret references. */}}
{{- define "trainyard.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "trainyard.fullname" . }}-config
env:
  - name: TRAINYARD_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "trainyard.databaseSecretName" . }}
        key: {{ .Values.database.secretKey }}
  {{- with .Values.objectStore.credentialsSecret }}
  - name: AWS_ACCESS_KEY_ID
    valueFrom:
      secretKeyRef:
        name: {{ . }}
        key: {{ $.Values.objectStore.accessKeyIdKey }}
  - name: AWS_SECRET_ACCESS_KEY
    valueFrom:
      secretKeyRef:
        name: {{ . }}
        key: {{ $.Values.objectStore.secretAccessKeyKey }}
  {{- end }}
  {{- if .Values.secretsFile.secretName }}
  - name: TRAINYARD_SECRETS_FILE
    value: /etc/trainyard/secrets/{{ .Values.secretsFile.key }}
  {{- end }}
{{- end -}}

{{- define "trainyard.validate" -}}
{{- if not (has .Values.dags.source (list "image" "pvc" "gitSync")) -}}
{{- fail (printf "dags.source must be image, pvc or gitSync, not %q" .Values.dags.source) -}}
{{- end -}}
{{- if and (eq .Values.dags.source "gitSync") (not .Values.dags.gitSync.repo) -}}
{{- fail "dags.gitSync.repo is required when dags.source is gitSync" -}}
{{- end -}}
{{- if and (eq .Values.dags.source "pvc") (not .Values.dags.pvc.existingClaim) (not .Values.dags.pvc.create) -}}
{{- fail "dags.source is pvc: set dags.pvc.existingClaim, or dags.pvc.create=true" -}}
{{- end -}}
{{- end -}}

{{- define "trainyard.gitSyncEnv" -}}
{{- if .Values.dags.gitSync.credentialsSecret -}}
env:
  - name: GITSYNC_USERNAME
    valueFrom: { secretKeyRef: { name: {{ .Values.dags.gitSync.credentialsSecret }}, key: username } }
  - name: GITSYNC_PASSWORD
    valueFrom: { secretKeyRef: { name: {{ .Values.dags.gitSync.credentialsSecret }}, key: password } }
{{- end -}}
{{- end -}}
