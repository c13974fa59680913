#!/usr/bin/env bash
# Stop the local Kubernetes test cluster started by up.sh and remove its state.
#
#   scripts/cluster/down.sh [STATE_DIR]
#
# Set TRAINYARD_KEEP_STATE=1 to stop the processes but keep STATE_DIR (logs).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cluster_state "${1:-}"

# Reverse start order.
for c in kwok kube-scheduler kube-apiserver etcd; do
  stop_component "$c"
done

if [[ "${TRAINYARD_KEEP_STATE:-0}" == "1" ]]; then
  log "processes stopped; state kept in $STATE_DIR"
  exit 0
fi

# Only delete a directory that up.sh created.
if [[ -d "$STATE_DIR/run" || -d "$STATE_DIR/pki" || -f "$STATE_DIR/kubeconfig" ]]; then
  rm -rf "$STATE_DIR"
  log "removed $STATE_DIR"
else
  rmdir "$STATE_DIR" 2>/dev/null || log "left $STATE_DIR alone (not a cluster state directory)"
fi
