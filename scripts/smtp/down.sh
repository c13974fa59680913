#!/usr/bin/env bash
# Stop the SMTP test server started by up.sh.
#
#   scripts/smtp/down.sh [STATE_DIR] [--purge]
#
# --purge also deletes STATE_DIR (messages, certificate, log). Safe to call when the server is
# not running. The cached virtual environment is kept.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

purge=0
state_arg=""
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    -*) smtp_die "unknown option $a (usage: down.sh [STATE_DIR] [--purge])" ;;
    *) state_arg="$a" ;;
  esac
done
smtp_state "$state_arg"

exec 9>"$STATE_DIR/.lock"
flock -w 60 9 || smtp_die "another up.sh/down.sh has held $STATE_DIR/.lock for 60 s"

if pid="$(smtp_running_pid)"; then
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$PID_FILE" "$PORT_FILE" "$ENV_FILE"
if ((purge)); then
  exec 9>&-
  rm -rf "$STATE_DIR"
fi
