#!/usr/bin/env bash
# Stop the S3 test server started by up.sh.
#
#   scripts/s3/down.sh [STATE_DIR] [--purge]
#
# --purge also deletes STATE_DIR (objects, metadata, log). Safe to call when the server is not
# running. The cached server binary is kept.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

purge=0
state_arg=""
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    -*) s3_die "unknown option $a (usage: down.sh [STATE_DIR] [--purge])" ;;
    *) state_arg="$a" ;;
  esac
done
s3_state "$state_arg"

exec 9>"$STATE_DIR/.lock"
flock -w 180 9 || s3_die "another up.sh/down.sh has held $STATE_DIR/.lock for 180 s"

if pid="$(s3_running_pid)"; then
  s3_log "stopping the server (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    s3_log "the server did not stop within 10 s; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
fi
rm -f "$PID_FILE" "$ENV_FILE"
if ((purge)); then
  exec 9>&-
  rm -rf "$STATE_DIR"
  s3_log "removed $STATE_DIR"
fi
