# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts that source this file
# Shared settings for the Trainyard local Kubernetes test cluster scripts.
# Sourced by build.sh, up.sh, down.sh, nodes.sh and smoke.sh; not run directly.

CLUSTER_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The Kubernetes version is whatever k8s.io/kubernetes is pinned to in the
# wrapper module, so go.mod is the single source of truth.
K8S_VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' \
  "$CLUSTER_SCRIPT_DIR/kubebuild/go.mod")"
KWOK_VERSION="${TRAINYARD_KWOK_VERSION:-v0.8.0}"

TRAINYARD_CACHE="${TRAINYARD_CACHE:-$HOME/.cache/trainyard}"
K8S_BIN_DIR="$TRAINYARD_CACHE/k8s/$K8S_VERSION"
KWOK_BIN_DIR="$TRAINYARD_CACHE/kwok/$KWOK_VERSION"
# One directory with links to every binary the cluster needs.
CLUSTER_BIN_DIR="$TRAINYARD_CACHE/bin/k8s-$K8S_VERSION-kwok-$KWOK_VERSION"

DEFAULT_STATE_DIR="${TMPDIR:-/tmp}/trainyard-cluster"

# Ports (all bound to 127.0.0.1 only). Override through the environment.
TRAINYARD_ETCD_CLIENT_PORT="${TRAINYARD_ETCD_CLIENT_PORT:-23790}"
TRAINYARD_ETCD_PEER_PORT="${TRAINYARD_ETCD_PEER_PORT:-23800}"
TRAINYARD_APISERVER_PORT="${TRAINYARD_APISERVER_PORT:-6443}"
TRAINYARD_SCHEDULER_PORT="${TRAINYARD_SCHEDULER_PORT:-10659}"
TRAINYARD_KWOK_PORT="${TRAINYARD_KWOK_PORT:-10647}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

# Resolve the state directory argument and export the derived paths.
cluster_state() {
  STATE_DIR="${1:-${TRAINYARD_CLUSTER_DIR:-$DEFAULT_STATE_DIR}}"
  mkdir -p "$STATE_DIR"
  STATE_DIR="$(cd "$STATE_DIR" && pwd)"
  PKI_DIR="$STATE_DIR/pki"
  LOG_DIR="$STATE_DIR/logs"
  RUN_DIR="$STATE_DIR/run"
  KUBECONFIG_FILE="$STATE_DIR/kubeconfig"
  APISERVER_URL="https://127.0.0.1:$TRAINYARD_APISERVER_PORT"
}

# kubectl from the cache, talking to the cluster in $STATE_DIR.
kctl() { "$CLUSTER_BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# Print the pid of a component started by up.sh if it is still running. The
# command line is checked so that a recycled pid never gets signalled.
component_pid() {
  local name="$1" pid
  pid="$(cat "$RUN_DIR/$name.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$name" || return 1
  fi
  echo "$pid"
}

# Stop a component (SIGTERM, then SIGKILL after ~5 s) and remove its pid file.
stop_component() {
  local name="$1" pid
  if pid="$(component_pid "$name")"; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop, killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$RUN_DIR/$name.pid"
}
