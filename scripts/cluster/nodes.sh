#!/usr/bin/env bash
# Register fake (KWOK-managed) nodes in the local test cluster.
#
#   scripts/cluster/nodes.sh [STATE_DIR] [options]
#
# Options (each also settable through the environment variable in brackets):
#   --cpu N              CPU-only nodes to have                      [TRAINYARD_CPU_NODES=3]
#   --cpu-shape C/M      cpu and memory of a CPU node                [TRAINYARD_CPU_NODE_SHAPE=8/32Gi]
#   --gpu LIST           GPU node groups, comma separated TYPE:COUNT:GPUS_PER_NODE
#                                                                    [TRAINYARD_GPU_NODES=a100:2:8,t4:2:4]
#   --gpu-shape C/M      cpu and memory of a GPU node                [TRAINYARD_GPU_NODE_SHAPE=32/256Gi]
#   --max-pods N         pods per node                               [TRAINYARD_NODE_MAX_PODS=110]
#   --clear              delete every fake node first (pods on them are not cleaned up)
#   --no-wait            do not wait for the nodes to become Ready
#
# Example, 100 GPU nodes for a benchmark:
#   scripts/cluster/nodes.sh --cpu 0 --gpu a100:100:8
#
# Nodes are named kwok-cpu-<i> and kwok-gpu-<type>-<i>; existing nodes are kept
# (so the script is idempotent). Every node carries the label type=kwok and the
# annotation kwok.x-k8s.io/node=fake (what kwok selects on). GPU nodes have
# capacity nvidia.com/gpu, the label gpu-type=<type> and the taint
# nvidia.com/gpu=present:NoSchedule.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

state_arg=""
if [[ $# -gt 0 && "$1" != --* ]]; then state_arg="$1"; shift; fi
cluster_state "$state_arg"

cpu_nodes="${TRAINYARD_CPU_NODES:-3}"
cpu_shape="${TRAINYARD_CPU_NODE_SHAPE:-8/32Gi}"
gpu_nodes="${TRAINYARD_GPU_NODES:-a100:2:8,t4:2:4}"
gpu_shape="${TRAINYARD_GPU_NODE_SHAPE:-32/256Gi}"
max_pods="${TRAINYARD_NODE_MAX_PODS:-110}"
clear=0
wait=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) cpu_nodes="$2"; shift 2 ;;
    --cpu-shape) cpu_shape="$2"; shift 2 ;;
    --gpu) gpu_nodes="$2"; shift 2 ;;
    --gpu-shape) gpu_shape="$2"; shift 2 ;;
    --max-pods) max_pods="$2"; shift 2 ;;
    --clear) clear=1; shift ;;
    --no-wait) wait=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
done

[[ -f "$KUBECONFIG_FILE" ]] || die "no cluster in $STATE_DIR; run up.sh first"
[[ -x "$CLUSTER_BIN_DIR/kubectl" ]] || die "kubectl missing; run build.sh"

# Test files register nodes at the same time: one nodes.sh at a time per cluster, so the
# check below for nodes that already exist is not raced.
exec 7>"$STATE_DIR/.nodes.lock"
if command -v flock >/dev/null; then
  flock -w 300 7 || die "another nodes.sh has held $STATE_DIR/.nodes.lock for 5 minutes"
fi

if [[ "$clear" == 1 ]]; then
  log "deleting existing fake nodes"
  kctl delete nodes -l type=kwok --wait=false >/dev/null
fi

existing=" $(kctl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}' 2>/dev/null || true) "

# node_yaml NAME CPU MEMORY GPUS GPU_TYPE
node_yaml() {
  local name="$1" cpu="$2" mem="$3" gpus="$4" gtype="$5" res
  res="      cpu: \"$cpu\"
      memory: \"$mem\"
      pods: \"$max_pods\"
      ephemeral-storage: \"500Gi\""
  [[ "$gpus" -gt 0 ]] && res+="
      nvidia.com/gpu: \"$gpus\""
  cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node-role.kubernetes.io/worker: ""
    trainyard.dev/pool: $([[ "$gpus" -gt 0 ]] && echo gpu || echo cpu)
$([[ -n "$gtype" ]] && echo "    gpu-type: $gtype")
spec:
$([[ "$gpus" -gt 0 ]] && printf '  taints:\n  - key: nvidia.com/gpu\n    value: present\n    effect: NoSchedule\n')
status:
  allocatable:
$res
  capacity:
$res
NODE
}

manifest=""
count=0
add() {
  case "$existing" in *" $1 "*) return 0 ;; esac
  manifest+="$(node_yaml "$@")"$'\n'
  count=$((count + 1))
}

for ((i = 0; i < cpu_nodes; i++)); do
  add "kwok-cpu-$i" "${cpu_shape%%/*}" "${cpu_shape#*/}" 0 ""
done
IFS=',' read -r -a groups <<< "$gpu_nodes"
for g in "${groups[@]}"; do
  [[ -z "$g" ]] && continue
  IFS=':' read -r gtype gcount gper <<< "$g"
  [[ -n "$gtype" && "$gcount" =~ ^[0-9]+$ && "$gper" =~ ^[0-9]+$ ]] || die "bad GPU group '$g' (want TYPE:COUNT:GPUS)"
  for ((i = 0; i < gcount; i++)); do
    add "kwok-gpu-$gtype-$i" "${gpu_shape%%/*}" "${gpu_shape#*/}" "$gper" "$gtype"
  done
done

if [[ "$count" -gt 0 ]]; then
  log "registering $count fake nodes"
  printf '%s' "$manifest" | kctl create -f - >/dev/null
fi

if [[ "$wait" == 1 ]]; then
  kctl wait --for=condition=Ready nodes -l type=kwok --timeout=120s >/dev/null
fi
kctl get nodes -l type=kwok --no-headers \
  -o custom-columns='NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,GPU:.metadata.labels.gpu-type,GPUS:.status.allocatable.nvidia\.com/gpu' \
  2>/dev/null | sed 's/^/[cluster] node /' >&2 || true
