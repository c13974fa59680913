# shellcheck shell=bash
# Shared settings for the local Postgres test server scripts (up.sh, down.sh).
# Sourced, not run directly.
# shellcheck disable=SC2034 # variables here are used by the scripts that source this file

PG_DEFAULT_STATE_DIR="${TMPDIR:-/tmp}/trainyard-pg"
PG_PORT="${TRAINYARD_PG_PORT:-54329}"
# The server's superuser and its password. A test server on loopback only; the
# password exists so that tests can check how a wrong one is reported.
PG_ROLE="${TRAINYARD_PG_ROLE:-trainyard}"
PG_PASSWORD="${TRAINYARD_PG_PASSWORD:-trainyard}"
PG_DATABASE="${TRAINYARD_PG_DATABASE:-trainyard_test}"
# Postgres refuses to run as root; as root the server runs as this system user.
PG_OS_USER="${TRAINYARD_PG_OS_USER:-trainyard-pg}"

pg_log() { printf '[postgres] %s\n' "$*" >&2; }
pg_die() { printf '[postgres] ERROR: %s\n' "$*" >&2; exit 1; }

# Sets STATE_DIR, DATA_DIR, LOG_FILE, URL_FILE from the first argument or the default.
pg_state() {
  STATE_DIR="${1:-$PG_DEFAULT_STATE_DIR}"
  mkdir -p "$STATE_DIR"
  STATE_DIR="$(cd "$STATE_DIR" && pwd)"
  DATA_DIR="$STATE_DIR/data"
  LOG_FILE="$STATE_DIR/postgres.log"
  URL_FILE="$STATE_DIR/url"
}

# Finds the server binaries: $TRAINYARD_PG_BIN, else the newest Debian/Ubuntu
# /usr/lib/postgresql/<version>/bin, else pg_config or initdb on PATH. Sets PG_BIN.
pg_find_bin() {
  PG_BIN="${TRAINYARD_PG_BIN:-}"
  if [[ -n "$PG_BIN" ]]; then
    [[ -x "$PG_BIN/pg_ctl" ]] || pg_die "TRAINYARD_PG_BIN=$PG_BIN has no pg_ctl"
    return 0
  fi
  local candidates=() d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/pg_ctl" && -x "$d/initdb" ]] && candidates+=("$d")
  done
  if ((${#candidates[@]} > 0)); then
    PG_BIN="$(printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1)"
    return 0
  fi
  if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/pg_ctl" ]]; then
    PG_BIN="$(pg_config --bindir)"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PG_BIN="$(dirname "$(command -v pg_ctl)")"
    return 0
  fi
  return 1
}

# Installs Debian's postgresql package when the binaries are missing and we may.
pg_ensure_bin() {
  pg_find_bin && return 0
  if [[ "${TRAINYARD_PG_INSTALL:-1}" == 1 && $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    pg_log "Postgres server binaries not found; installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends postgresql >&2; then
      apt-get update >&2 || pg_die "apt-get update failed"
      apt-get install -y --no-install-recommends postgresql >&2 || pg_die "apt-get install postgresql failed"
    fi
    pg_find_bin && return 0
  fi
  pg_die "no Postgres server binaries found: install them (Debian: apt-get install postgresql) or set TRAINYARD_PG_BIN to the directory that holds pg_ctl"
}

# Runs a command as the user that owns the server (root cannot run Postgres).
pg_as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

pg_ensure_os_user() {
  [[ $EUID -eq 0 ]] || return 0
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    pg_log "creating system user $PG_OS_USER to run the server"
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin "$PG_OS_USER" \
      || pg_die "could not create system user $PG_OS_USER"
  fi
}

# True when our server for DATA_DIR is running.
pg_running() {
  [[ -f "$DATA_DIR/PG_VERSION" ]] || return 1
  pg_as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

# The port the running server listens on (from its pid file), or empty.
pg_running_port() {
  [[ -f "$DATA_DIR/postmaster.pid" ]] && sed -n 4p "$DATA_DIR/postmaster.pid"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
pg_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_url_for_port() {
  printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$PG_ROLE" "$PG_PASSWORD" "$1" "$PG_DATABASE"
}
