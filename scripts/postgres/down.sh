#!/usr/bin/env bash
# Stop the local Postgres test server started by up.sh.
#
#   scripts/postgres/down.sh [STATE_DIR] [--purge]
#
# --purge also deletes STATE_DIR (the cluster and its data). Safe to call when
# the server is not running.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

purge=0
state_arg=""
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    -*) pg_die "unknown option $a (usage: down.sh [STATE_DIR] [--purge])" ;;
    *) state_arg="$a" ;;
  esac
done
pg_state "$state_arg"

exec 9>"$STATE_DIR/.lock"
flock -w 180 9 || pg_die "another up.sh/down.sh has held $STATE_DIR/.lock for 180 s"

if [[ -f "$DATA_DIR/PG_VERSION" ]]; then
  pg_find_bin || pg_die "no Postgres server binaries found to stop the server (set TRAINYARD_PG_BIN)"
  if pg_running; then
    pg_log "stopping the server in $DATA_DIR"
    pg_as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
  fi
fi
rm -f "$URL_FILE"
if ((purge)); then
  rm -rf "$STATE_DIR"
  pg_log "removed $STATE_DIR"
fi
