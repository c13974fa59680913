#!/usr/bin/env bash
# Stop the MLflow test server that scripts/mlflow/up.sh started.
#
#   scripts/mlflow/down.sh [STATE_DIR] [--purge]
#
# --purge also deletes STATE_DIR (the tracking store and artifacts). The cached virtual
# environment is kept.
set -euo pipefail
STATE_DIR="${TMPDIR:-/tmp}/trainyard-mlflow"
PURGE=0
for a in "$@"; do
  case "$a" in
    --purge) PURGE=1 ;;
    *) STATE_DIR="$a" ;;
  esac
done
[[ -d "$STATE_DIR" ]] || exit 0
exec 9>"$STATE_DIR/.lock"
flock -w 180 9 || { echo "mlflow/down.sh: $STATE_DIR/.lock is held" >&2; exit 1; }
if [[ -f "$STATE_DIR/pid" ]]; then
  pid="$(cat "$STATE_DIR/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    # The server leads its own session (setsid): stop its process group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$STATE_DIR/pid" "$STATE_DIR/url"
fi
if [[ "$PURGE" == 1 ]]; then rm -rf "$STATE_DIR"; fi
