#!/usr/bin/env bash
# Smoke test of the local Kubernetes test cluster: brings it up (or reuses it),
# registers the default fake nodes and checks that the real kube-scheduler and
# the KWOK stages behave as the Trainyard tests expect.
#
#   scripts/cluster/smoke.sh [STATE_DIR] [--down]
#
# --down   stop the cluster and remove STATE_DIR afterwards.
# Prints PASS/FAIL per check; exits non-zero if any check fails.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

state_arg=""
down=0
for a in "$@"; do
  case "$a" in
    --down) down=1 ;;
    *) state_arg="$a" ;;
  esac
done
cluster_state "$state_arg"

"$CLUSTER_SCRIPT_DIR/up.sh" "$STATE_DIR" >/dev/null
"$CLUSTER_SCRIPT_DIR/nodes.sh" "$STATE_DIR" 2>/dev/null
if [[ "$down" == 1 ]]; then
  trap '"$CLUSTER_SCRIPT_DIR/down.sh" "$STATE_DIR"' EXIT
fi

NS="smoke-$(date +%s)-$RANDOM"
kctl create namespace "$NS" >/dev/null

failures=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s%s\n' "$1" "${2:+ ($2)}"; failures=$((failures + 1)); }
# check NAME ACTUAL EXPECTED
check() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
jp() { kctl -n "$NS" get pod "$1" -o jsonpath="$2" 2>/dev/null || true; }

# pod NAME OUTCOME DURATION EXTRA_ANNOTATIONS_YAML RESOURCES_YAML SCHEDULING_YAML
pod() {
  kctl -n "$NS" create -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations:
    sim.trainyard.dev/outcome: "$2"
    sim.trainyard.dev/duration: "$3"
$4
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
$6
  containers:
  - name: main
    image: registry.invalid/trainyard/sim:latest
    resources:
$5
POD
}

GPU_SCHED='  nodeSelector:
    gpu-type: a100
  tolerations:
  - key: nvidia.com/gpu
    operator: Exists
    effect: NoSchedule'
CPU_RES='      requests: {cpu: "1", memory: 1Gi}'

wait_phase() { # NAME PHASE
  kctl -n "$NS" wait pod "$1" --for=jsonpath='{.status.phase}'="$2" --timeout=60s >/dev/null 2>&1
}

RESULT='{"metrics":{"loss":0.125},"artifacts":["s3://bucket/model.pt"]}'
pod gpu-ok success 1s "    sim.trainyard.dev/result: '$RESULT'" \
  '      limits: {nvidia.com/gpu: "1", cpu: "2", memory: 4Gi}' "$GPU_SCHED"
pod fail-3 fail 1s '    sim.trainyard.dev/exit-code: "3"' "$CPU_RES" ""
pod oom oom 1s "" "$CPU_RES" ""
pod evict evict 1s "" "$CPU_RES" ""
pod badimage imagepull 1s "" "$CPU_RES" ""
pod too-big success 1s "" '      limits: {nvidia.com/gpu: "16"}' "$GPU_SCHED"
pod long-running success 1h "" "$CPU_RES" ""

# -- success on an a100 node, termination message, logs
if wait_phase gpu-ok Succeeded; then pass "gpu pod Succeeded"; else fail "gpu pod Succeeded" "phase $(jp gpu-ok '{.status.phase}')"; fi
node="$(jp gpu-ok '{.spec.nodeName}')"
check "gpu pod scheduled on an a100 node ($node)" \
  "$(kctl get node "$node" -o jsonpath='{.metadata.labels.gpu-type}' 2>/dev/null || true)" a100
check "gpu pod exit code" "$(jp gpu-ok '{.status.containerStatuses[0].state.terminated.exitCode}')" 0
check "gpu pod reason" "$(jp gpu-ok '{.status.containerStatuses[0].state.terminated.reason}')" Completed
check "gpu pod termination message" "$(jp gpu-ok '{.status.containerStatuses[0].state.terminated.message}')" "$RESULT"
logs="$(kctl -n "$NS" logs gpu-ok 2>&1 || true)"
if grep -q '^::trainyard::metric {"step":1,"loss":0.5}$' <<<"$logs"; then
  pass "gpu pod logs contain the metric line"
else
  fail "gpu pod logs contain the metric line" "logs: $logs"
fi

# -- failure with an exit code
if wait_phase fail-3 Failed; then pass "fail pod Failed"; else fail "fail pod Failed" "phase $(jp fail-3 '{.status.phase}')"; fi
check "fail pod exit code" "$(jp fail-3 '{.status.containerStatuses[0].state.terminated.exitCode}')" 3
check "fail pod reason" "$(jp fail-3 '{.status.containerStatuses[0].state.terminated.reason}')" Error

# -- OOM
if wait_phase oom Failed; then pass "oom pod Failed"; else fail "oom pod Failed" "phase $(jp oom '{.status.phase}')"; fi
check "oom pod reason" "$(jp oom '{.status.containerStatuses[0].state.terminated.reason}')" OOMKilled
check "oom pod exit code" "$(jp oom '{.status.containerStatuses[0].state.terminated.exitCode}')" 137

# -- eviction
if wait_phase evict Failed; then pass "evicted pod Failed"; else fail "evicted pod Failed" "phase $(jp evict '{.status.phase}')"; fi
check "evicted pod status.reason" "$(jp evict '{.status.reason}')" Evicted
check "evicted pod DisruptionTarget condition" \
  "$(jp evict '{.status.conditions[?(@.type=="DisruptionTarget")].status}')" True

# -- image pull failure stays Pending in ImagePullBackOff
if kctl -n "$NS" wait pod badimage --timeout=30s \
     --for=jsonpath='{.status.containerStatuses[0].state.waiting.reason}'=ImagePullBackOff >/dev/null 2>&1; then
  pass "imagepull pod in ImagePullBackOff"
else
  fail "imagepull pod in ImagePullBackOff" "waiting reason $(jp badimage '{.status.containerStatuses[0].state.waiting.reason}')"
fi
check "imagepull pod phase" "$(jp badimage '{.status.phase}')" Pending

# -- 16 GPUs fit nowhere: Pending with a FailedScheduling event
msg=""
for _ in $(seq 1 60); do
  msg="$(kctl -n "$NS" get events --field-selector involvedObject.name=too-big,reason=FailedScheduling \
          -o jsonpath='{.items[*].message}' 2>/dev/null || true)"
  [[ "$msg" == *"Insufficient nvidia.com/gpu"* ]] && break
  sleep 0.5
done
check "16-gpu pod phase" "$(jp too-big '{.status.phase}')" Pending
check "16-gpu pod not bound" "$(jp too-big '{.spec.nodeName}')" ""
if [[ "$msg" == *"Insufficient nvidia.com/gpu"* ]]; then
  pass "FailedScheduling event mentions Insufficient nvidia.com/gpu"
else
  fail "FailedScheduling event mentions Insufficient nvidia.com/gpu" "events: $msg"
fi

# -- deleting a running pod removes it
if wait_phase long-running Running; then pass "long pod Running"; else fail "long pod Running" "phase $(jp long-running '{.status.phase}')"; fi
kctl -n "$NS" delete pod long-running --wait=false >/dev/null
if kctl -n "$NS" wait pod long-running --for=delete --timeout=30s >/dev/null 2>&1; then
  pass "running pod deleted"
else
  fail "running pod deleted" "still there: $(jp long-running '{.metadata.deletionTimestamp}')"
fi

# Clean up the pods (the namespace itself would need kube-controller-manager to go away).
kctl -n "$NS" delete pods --all --wait=false >/dev/null 2>&1 || true

if [[ "$failures" -gt 0 ]]; then
  echo "smoke: $failures check(s) FAILED (logs in $LOG_DIR)"
  exit 1
fi
echo "smoke: all checks passed"
