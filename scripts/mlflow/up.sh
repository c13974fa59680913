#!/usr/bin/env bash
# Start a local MLflow tracking server on 127.0.0.1, for the MLflow bridge's tests and for
# trying the bridge by hand.
#
#   scripts/mlflow/up.sh [STATE_DIR]
#
# MLflow comes from PyPI alone: a virtual environment with a pinned mlflow is created once
# under ${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/mlflow-<version>/venv and reused after.
# STATE_DIR defaults to ${TMPDIR:-/tmp}/trainyard-mlflow. It receives
#   mlflow.db      the tracking store (SQLite)
#   artifacts/     the default artifact root
#   server.log     the server log
#   pid, url       the running server
# Safe to call again, and from several processes at once: a running server is reused.
# Prints http://127.0.0.1:PORT on stdout (the last line); progress goes to stderr.
#
# Env: TRAINYARD_MLFLOW_VERSION (2.22.0), TRAINYARD_MLFLOW_PORT (a free port),
#      TRAINYARD_PYTHON (python3, 3.9 or newer).
set -euo pipefail

VERSION="${TRAINYARD_MLFLOW_VERSION:-2.22.0}"
PYTHON="${TRAINYARD_PYTHON:-python3}"
CACHE="${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/mlflow-$VERSION"
STATE_DIR="${1:-${TMPDIR:-/tmp}/trainyard-mlflow}"
VENV="$CACHE/venv"
CONSTRAINTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/constraints.txt"

log() { printf 'mlflow/up.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$VERSION" =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "TRAINYARD_MLFLOW_VERSION must be a version like 2.22.0, got '$VERSION'"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3.9+ or set TRAINYARD_PYTHON"
mkdir -p "$CACHE" "$STATE_DIR/artifacts"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"

# ---- the virtual environment (once per version) -----------------------------------------
exec 8>"$CACHE/.lock"
flock -w 900 8 || die "another up.sh has held $CACHE/.lock for 15 minutes"
# The marker holds the constraints it was installed with: changing them reinstalls.
want="mlflow==$VERSION $(sha256sum "$CONSTRAINTS" | cut -c1-16)"
if [[ "$(cat "$VENV/.installed" 2>/dev/null)" != "$want" ]]; then
  log "installing mlflow==$VERSION from PyPI into $VENV (once; a few minutes)"
  start=$(date +%s)
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS" "mlflow==$VERSION" >&2 \
    || die "pip could not install mlflow==$VERSION (see above); PyPI must be reachable"
  took=$(( $(date +%s) - start ))
  printf '%s\n' "$took" >"$VENV/.install-seconds"
  printf '%s\n' "$want" >"$VENV/.installed"
  log "installed in ${took}s"
fi
flock -u 8

# ---- the server (once per state directory) ----------------------------------------------
exec 9>"$STATE_DIR/.lock"
flock -w 180 9 || die "another up.sh/down.sh has held $STATE_DIR/.lock for 180 s"

healthy() { "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

if [[ -f "$STATE_DIR/pid" && -f "$STATE_DIR/url" ]]; then
  pid="$(cat "$STATE_DIR/pid")"; url="$(cat "$STATE_DIR/url")"
  if kill -0 "$pid" 2>/dev/null && healthy "$url"; then
    log "reusing the server at $url (pid $pid)"
    printf '%s\n' "$url"
    exit 0
  fi
  rm -f "$STATE_DIR/pid" "$STATE_DIR/url"
fi

PORT="${TRAINYARD_MLFLOW_PORT:-$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')}"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "TRAINYARD_MLFLOW_PORT must be a port number, got '$PORT'"
url="http://127.0.0.1:$PORT"
log "starting mlflow $VERSION at $url (state in $STATE_DIR)"
# A session of its own, so it outlives this script; loopback only. The lock descriptors are
# closed for it (8>&- 9>&-): a server that inherited them would hold the lock while it runs.
setsid "$VENV/bin/mlflow" server \
  --host 127.0.0.1 --port "$PORT" --workers 1 \
  --backend-store-uri "sqlite:///$STATE_DIR/mlflow.db" \
  --default-artifact-root "file://$STATE_DIR/artifacts" \
  >>"$STATE_DIR/server.log" 2>&1 </dev/null 8>&- 9>&- &
pid=$!
printf '%s\n' "$pid" >"$STATE_DIR/pid"
for _ in $(seq 1 240); do
  if healthy "$url"; then
    printf '%s\n' "$url" >"$STATE_DIR/url"
    log "ready (pid $pid)"
    printf '%s\n' "$url"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE_DIR/server.log" >&2; die "the server exited while starting (log above)"; }
  sleep 0.5
done
tail -n 20 "$STATE_DIR/server.log" >&2
die "the server did not answer $url/health within 120 s"
