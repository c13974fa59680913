#!/usr/bin/env bash
# Start the local Kubernetes test cluster: etcd, kube-apiserver, kube-scheduler
# and kwok (which plays the kubelet of fake nodes), all on 127.0.0.1.
#
#   scripts/cluster/up.sh [STATE_DIR]
#
# STATE_DIR defaults to ${TMPDIR:-/tmp}/trainyard-cluster. It receives
#   kubeconfig   admin kubeconfig for the cluster (client cert, O=system:masters)
#   pki/         CA, serving/client certificates, service-account key pair
#   logs/        one log file per component
#   run/         pid files
# Safe to call when the cluster is already up: it is reused. Prints the
# kubeconfig path on stdout.
#
# Env: TRAINYARD_APISERVER_PORT (6443), TRAINYARD_ETCD_CLIENT_PORT (23790),
#      TRAINYARD_ETCD_PEER_PORT (23800), TRAINYARD_SCHEDULER_PORT (10659),
#      TRAINYARD_KWOK_PORT (10647), TRAINYARD_CACHE, TRAINYARD_POD_CIDR (10.0.0.1/16),
#      TRAINYARD_UP_TIMEOUT (seconds to wait for readiness, 120).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cluster_state "${1:-}"

COMPONENTS=(etcd kube-apiserver kube-scheduler kwok)
UP_TIMEOUT="${TRAINYARD_UP_TIMEOUT:-120}"

alive() { component_pid "$1" >/dev/null; }

curl_api() {
  curl -sS --max-time 5 --cacert "$PKI_DIR/ca.crt" \
    --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" "$@"
}

api_ready() {
  [[ -f "$PKI_DIR/admin.crt" ]] || return 1
  [[ "$(curl_api "$APISERVER_URL/readyz" 2>/dev/null)" == "ok" ]]
}

all_up() {
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done
  api_ready
}

# Two test runs may call up.sh at the same time: let one of them start the
# cluster and the other reuse it.
mkdir -p "$RUN_DIR"
exec 8>"$STATE_DIR/.up.lock"
if command -v flock >/dev/null; then
  flock -w 900 8 || die "another up.sh has held $STATE_DIR/.up.lock for 15 minutes"
fi

if all_up && [[ -f "$KUBECONFIG_FILE" ]]; then
  log "cluster already up in $STATE_DIR (reusing)"
  echo "$KUBECONFIG_FILE"
  exit 0
fi

# Something is missing: stop whatever is left of a previous run and start clean.
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
  stop_component "${COMPONENTS[i]}"
done

port_free() {
  # true when nothing listens on 127.0.0.1:$1
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for p in "$TRAINYARD_ETCD_CLIENT_PORT" "$TRAINYARD_ETCD_PEER_PORT" "$TRAINYARD_APISERVER_PORT" \
         "$TRAINYARD_SCHEDULER_PORT" "$TRAINYARD_KWOK_PORT"; do
  port_free "$p" || die "port 127.0.0.1:$p is already in use; set the TRAINYARD_*_PORT variables to free ports"
done

BIN="$("$CLUSTER_SCRIPT_DIR/build.sh")"
command -v openssl >/dev/null || die "openssl is required"

mkdir -p "$PKI_DIR" "$LOG_DIR" "$RUN_DIR"
rm -rf "$STATE_DIR/etcd-data"

# ---------------------------------------------------------------- certificates
gen_pki() {
  local d="$PKI_DIR"
  [[ -f "$d/.complete" ]] && return 0
  log "generating certificates in $d"
  rm -f "$d"/*
  openssl genrsa -out "$d/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -nodes -key "$d/ca.key" -sha256 -days 3650 \
    -subj "/CN=trainyard-test-ca" -out "$d/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null

  # leaf NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
  leaf() {
    local name="$1" subj="$2" eku="$3" san="${4:-}" ext="$d/$1.ext"
    {
      echo "basicConstraints=critical,CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=$eku"
      [[ -n "$san" ]] && echo "subjectAltName=$san"
    } > "$ext"
    openssl genrsa -out "$d/$name.key" 2048 2>/dev/null
    openssl req -new -key "$d/$name.key" -subj "$subj" -out "$d/$name.csr" 2>/dev/null
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
      -sha256 -days 3650 -extfile "$ext" -out "$d/$name.crt" 2>/dev/null
    rm -f "$d/$name.csr" "$ext"
  }
  local api_san="IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
  api_san+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  leaf apiserver "/CN=kube-apiserver" serverAuth "$api_san"
  leaf admin "/O=system:masters/CN=trainyard-admin" clientAuth
  leaf apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  leaf kube-scheduler "/CN=system:kube-scheduler" clientAuth
  leaf kwok "/CN=system:node:kwok" "serverAuth,clientAuth" "IP:127.0.0.1,DNS:localhost"

  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  chmod 600 "$d"/*.key
  touch "$d/.complete"
}
gen_pki

# kubeconfig FILE USER  (embeds the certificates so the file is self-contained)
write_kubeconfig() {
  local file="$1" user="$2" tmp
  tmp="$file.tmp.$$"
  cat > "$tmp" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: trainyard
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 < "$PKI_DIR/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$PKI_DIR/$user.crt")
    client-key-data: $(base64 -w0 < "$PKI_DIR/$user.key")
contexts:
- name: trainyard
  context:
    cluster: trainyard
    user: $user
    namespace: default
current-context: trainyard
KCFG
  chmod 600 "$tmp"
  mv -f "$tmp" "$file"
}
write_kubeconfig "$STATE_DIR/scheduler.kubeconfig" kube-scheduler
write_kubeconfig "$STATE_DIR/kwok.kubeconfig" admin

# ------------------------------------------------------------------- helpers
# If up.sh fails half way, stop what it started (the logs stay in STATE_DIR).
STARTED=()
cleanup_on_failure() {
  local rc=$?
  [[ $rc -eq 0 ]] && return 0
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_component "${STARTED[i]}"; done
  log "start failed; logs are in $LOG_DIR"
  exit "$rc"
}
trap cleanup_on_failure EXIT

start() {
  local name="$1"; shift
  log "starting $name"
  # setsid: the component must outlive this script and not get the terminal's signals.
  # 8>&-: the component must not inherit (and keep holding) the up.sh lock.
  setsid "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 8>&- &
  echo $! > "$RUN_DIR/$name.pid"
  STARTED+=("$name")
}

# Whether a component this script just started is still running. Not component_pid: right
# after the fork the child may not have exec'd yet, so its command line is still this shell's
# (a busy machine makes that window long); an exited child stays a zombie until reaped.
running() {
  local pid state
  pid="$(cat "$RUN_DIR/$1.pid" 2>/dev/null)" || return 1
  state="$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

wait_for() {
  local what="$1" name="$2"; shift 2
  local deadline=$((SECONDS + UP_TIMEOUT))
  until "$@"; do
    running "$name" || { tail -n 30 "$LOG_DIR/$name.log" >&2 || true; die "$name exited; see $LOG_DIR/$name.log"; }
    (( SECONDS < deadline )) || { tail -n 30 "$LOG_DIR/$name.log" >&2 || true; die "timed out waiting for $what"; }
    sleep 0.5
  done
}

# ---------------------------------------------------------------------- etcd
start etcd "$BIN/etcd" \
  --name trainyard \
  --data-dir "$STATE_DIR/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$TRAINYARD_ETCD_CLIENT_PORT" \
  --advertise-client-urls "http://127.0.0.1:$TRAINYARD_ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$TRAINYARD_ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$TRAINYARD_ETCD_PEER_PORT" \
  --initial-cluster "trainyard=http://127.0.0.1:$TRAINYARD_ETCD_PEER_PORT" \
  --initial-cluster-state new \
  --quota-backend-bytes 4294967296 \
  --snapshot-count 100000
etcd_ok() { curl -sf --max-time 2 "http://127.0.0.1:$TRAINYARD_ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'; }
wait_for etcd etcd etcd_ok

# etcd supports watch progress requests from 3.4.31 / 3.5.13 on.
etcd_has_watch_progress() {
  local v major minor patch
  v="$(curl -sf --max-time 2 "http://127.0.0.1:$TRAINYARD_ETCD_CLIENT_PORT/version" \
        | sed -n 's/.*"etcdserver":"\([0-9.]*\)".*/\1/p')"
  IFS=. read -r major minor patch <<< "$v"
  [[ -n "$major" ]] || return 1
  (( major > 3 )) && return 0
  (( major == 3 && minor >= 6 )) && return 0
  (( major == 3 && minor == 5 && patch >= 13 )) && return 0
  (( major == 3 && minor == 4 && patch >= 31 )) && return 0
  return 1
}

# ------------------------------------------------------------ kube-apiserver
# Without kube-controller-manager:
#  - ServiceAccount admission is off (nothing would create the "default"
#    ServiceAccount of new namespaces, and pods would be rejected);
#  - TaintNodesByCondition is off (nothing would lift the not-ready taint it
#    puts on new nodes; kwok marks fake nodes Ready instead).
# Debian 12's etcd (3.4.23) has no watch progress notifications, and without
# them the apiserver cannot serve "watch-list" streams (WatchList, on by default
# since 1.34): every watch from resourceVersion ""/"0" would fail with "a watch
# stream was requested by the client but the required storage feature
# RequestWatchProgress is disabled". Turn WatchList off for such an etcd; plain
# list+watch semantics are unchanged.
APISERVER_FEATURE_GATES="${TRAINYARD_APISERVER_FEATURE_GATES:-}"
if [[ -z "$APISERVER_FEATURE_GATES" ]] && ! etcd_has_watch_progress; then
  APISERVER_FEATURE_GATES="WatchList=false"
fi
start kube-apiserver "$BIN/kube-apiserver" \
  --advertise-address=127.0.0.1 \
  --bind-address=127.0.0.1 \
  --secure-port="$TRAINYARD_APISERVER_PORT" \
  --etcd-servers="http://127.0.0.1:$TRAINYARD_ETCD_CLIENT_PORT" \
  --client-ca-file="$PKI_DIR/ca.crt" \
  --tls-cert-file="$PKI_DIR/apiserver.crt" \
  --tls-private-key-file="$PKI_DIR/apiserver.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI_DIR/sa.pub" \
  --service-account-signing-key-file="$PKI_DIR/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=RBAC \
  --disable-admission-plugins=ServiceAccount,TaintNodesByCondition \
  --enable-admission-plugins=NamespaceLifecycle,LimitRanger,Priority,DefaultTolerationSeconds,ResourceQuota \
  --kubelet-client-certificate="$PKI_DIR/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI_DIR/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI_DIR/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --allow-privileged=true \
  --profiling=false \
  --endpoint-reconciler-type=none \
  --feature-gates="$APISERVER_FEATURE_GATES" \
  --event-ttl=1h
wait_for "kube-apiserver /readyz" kube-apiserver api_ready
write_kubeconfig "$KUBECONFIG_FILE" admin

# ------------------------------------------------------------ kube-scheduler
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$STATE_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE_DIR/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$TRAINYARD_SCHEDULER_PORT" \
  --cert-dir="$STATE_DIR/scheduler-certs" \
  --leader-elect=false \
  --profiling=false
sched_ok() { curl -sk --max-time 2 "https://127.0.0.1:$TRAINYARD_SCHEDULER_PORT/healthz" 2>/dev/null | grep -qx ok; }
wait_for kube-scheduler kube-scheduler sched_ok

# ---------------------------------------------------------------------- kwok
# Canned container logs served for every pod through the pods/log API (CRI log
# format, stamped with the time the cluster started).
now="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
while IFS= read -r line || [[ -n "$line" ]]; do
  printf '%s stdout F %s\n' "$now" "$line"
done < "$CLUSTER_SCRIPT_DIR/kwok/pod-log.txt" > "$STATE_DIR/pod.log"
cat > "$STATE_DIR/kwok-logs.yaml" <<KLOGS
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: trainyard-canned-logs
spec:
  selector: {}
  logs:
  - logsFile: $STATE_DIR/pod.log
    follow: false
KLOGS

start kwok "$BIN/kwok" \
  --kubeconfig="$STATE_DIR/kwok.kubeconfig" \
  --config="$CLUSTER_SCRIPT_DIR/kwok/node-stages.yaml" \
  --config="$CLUSTER_SCRIPT_DIR/kwok/pod-stages.yaml" \
  --config="$STATE_DIR/kwok-logs.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --manage-nodes-with-label-selector= \
  --node-ip=127.0.0.1 \
  --node-port="$TRAINYARD_KWOK_PORT" \
  --server-address="127.0.0.1:$TRAINYARD_KWOK_PORT" \
  --tls-cert-file="$PKI_DIR/kwok.crt" \
  --tls-private-key-file="$PKI_DIR/kwok.key" \
  --cidr="${TRAINYARD_POD_CIDR:-10.0.0.1/16}"
kwok_ok() { curl -sk --max-time 2 "https://127.0.0.1:$TRAINYARD_KWOK_PORT/healthz" 2>/dev/null | grep -qx ok; }
wait_for kwok kwok kwok_ok

log "cluster up: $APISERVER_URL (state in $STATE_DIR)"
echo "$KUBECONFIG_FILE"
