#!/usr/bin/env bash
# Start a local Postgres test server on 127.0.0.1, for the store's tests and for
# trying Trainyard on Postgres.
#
#   scripts/postgres/up.sh [STATE_DIR]
#
# STATE_DIR defaults to ${TMPDIR:-/tmp}/trainyard-pg. It receives
#   data/          the cluster (owned by the server's user)
#   postgres.log   the server log
#   url            the URL of the test database, as printed
# Safe to call again, and from several processes at once: a running server is
# reused. Prints postgres://ROLE:PASSWORD@127.0.0.1:PORT/trainyard_test on stdout.
#
# The server binaries come from Debian's postgresql package (installed here when
# missing and run as root), found under /usr/lib/postgresql/<version>/bin; set
# TRAINYARD_PG_BIN to use others. As root, the server runs as the system user
# trainyard-pg (created when missing), because Postgres refuses to run as root.
#
# Durability is off (fsync, synchronous_commit, full_page_writes): this server is
# for tests and local trials, never for data you want to keep.
#
# Env: TRAINYARD_PG_PORT (54329), TRAINYARD_PG_PASSWORD (trainyard),
#      TRAINYARD_PG_ROLE (trainyard), TRAINYARD_PG_DATABASE (trainyard_test),
#      TRAINYARD_PG_OS_USER (trainyard-pg), TRAINYARD_PG_BIN,
#      TRAINYARD_PG_INSTALL (1: apt-get install when missing; 0: never).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
pg_state "${1:-}"

[[ "$PG_PORT" =~ ^[0-9]+$ ]] || pg_die "TRAINYARD_PG_PORT must be a port number, got '$PG_PORT'"
[[ "$PG_PASSWORD" =~ ^[A-Za-z0-9._~-]+$ ]] || pg_die "TRAINYARD_PG_PASSWORD may hold only letters, digits and . _ ~ - (it goes into a URL as is)"

# One caller at a time per state directory; the others wait, then reuse.
exec 9>"$STATE_DIR/.lock"
flock -w 180 9 || pg_die "another up.sh/down.sh has held $STATE_DIR/.lock for 180 s"

pg_ensure_bin
pg_ensure_os_user
if [[ $EUID -eq 0 ]]; then
  pg_as_owner test -x "$STATE_DIR" \
    || pg_die "user $PG_OS_USER cannot reach $STATE_DIR (a parent directory is private); choose a STATE_DIR under a world-searchable directory such as /tmp"
fi

if ! pg_running && pg_port_in_use "$PG_PORT"; then
  pg_die "port $PG_PORT on 127.0.0.1 is taken by another program; set TRAINYARD_PG_PORT to a free port"
fi

if [[ ! -f "$DATA_DIR/PG_VERSION" ]]; then
  pg_log "initialising a cluster in $DATA_DIR ($("$PG_BIN/postgres" --version))"
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  chmod 700 "$DATA_DIR"
  pwfile="$STATE_DIR/.pwfile"
  printf '%s\n' "$PG_PASSWORD" >"$pwfile"
  if [[ $EUID -eq 0 ]]; then
    chown "$PG_OS_USER" "$DATA_DIR" "$pwfile"
  fi
  chmod 600 "$pwfile"
  # C locale: ids sort byte-wise, as on SQLite.
  if ! pg_as_owner "$PG_BIN/initdb" -D "$DATA_DIR" -U "$PG_ROLE" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C >"$STATE_DIR/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$STATE_DIR/initdb.log" >&2
    pg_die "initdb failed"
  fi
  rm -f "$pwfile"
  printf "\n# Trainyard test server settings, rewritten by scripts/postgres/up.sh on each start.\ninclude_if_exists = 'trainyard.conf'\n" >>"$DATA_DIR/postgresql.conf"
fi

if pg_running; then
  port="$(pg_running_port)"
  if [[ "$port" != "$PG_PORT" ]]; then
    pg_log "reusing the server already running on port $port (TRAINYARD_PG_PORT=$PG_PORT ignored; run down.sh to move it)"
  fi
else
  port="$PG_PORT"
  # Read at start; a running server keeps the settings it started with.
  cat >"$DATA_DIR/trainyard.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
# A client that gives up half-way through authentication must not hold DROP DATABASE
# (it waits for every backend) for the default minute.
authentication_timeout = 10s
log_min_messages = warning
log_min_error_statement = panic
CONF
  if [[ $EUID -eq 0 ]]; then chown "$PG_OS_USER" "$DATA_DIR/trainyard.conf"; fi
  touch "$LOG_FILE"
  if [[ $EUID -eq 0 ]]; then chown "$PG_OS_USER" "$LOG_FILE"; fi
  pg_log "starting Postgres on 127.0.0.1:$port"
  # 9>&-: the server must not inherit the lock, or it would hold it while it runs.
  if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 -o "-p $port" start </dev/null >/dev/null 9>&-; then
    tail -n 30 "$LOG_FILE" >&2 || true
    pg_die "the server did not start; see $LOG_FILE"
  fi
fi

export PGPASSWORD="$PG_PASSWORD"
psql_admin() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$PG_ROLE" -d postgres "$@"
}
for _ in $(seq 1 50); do
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres && break
  sleep 0.2
done
if [[ -z "$(psql_admin -tAc "select 1 from pg_database where datname = '$PG_DATABASE'")" ]]; then
  psql_admin -c "create database \"$PG_DATABASE\""
fi

url="$(pg_url_for_port "$port")"
printf '%s\n' "$url" >"$URL_FILE.tmp"
chmod 600 "$URL_FILE.tmp"
mv "$URL_FILE.tmp" "$URL_FILE"
printf '%s\n' "$url"
