#!/usr/bin/env bash
# Start a real SMTP server for tests, on loopback.
#
#   scripts/smtp/up.sh [STATE_DIR]
#
# STATE_DIR defaults to ${TMPDIR:-/tmp}/trainyard-smtp and holds the received messages
# (messages/NNNNNN.eml with the envelope in NNNNNN.json), a self-signed certificate for
# STARTTLS, the test user's password, the server's log, pid and port, and an env file.
# aiosmtpd is installed from PyPI once into a virtual environment cached under
# ${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/aiosmtpd/<version>/.
#
# Safe to call again, and from several processes at once: a running server is reused. Prints
# shell assignments on stdout and writes the same to STATE_DIR/env (source it):
#   TRAINYARD_SMTP_HOST, TRAINYARD_SMTP_PORT, TRAINYARD_SMTP_MAIL_DIR, TRAINYARD_SMTP_CA
#   (empty without openssl: then no STARTTLS and no AUTH), TRAINYARD_SMTP_USER,
#   TRAINYARD_SMTP_PASSWORD
#
# Settings (env): TRAINYARD_SMTP_HOST (127.0.0.1, loopback only), TRAINYARD_SMTP_PORT (0: any
# free port), TRAINYARD_SMTP_USER (trainyard), TRAINYARD_AIOSMTPD_VERSION (1.4.6),
# TRAINYARD_SMTP_MAX_LIFETIME_S (3600: the server stops by itself after an hour, so one left
# behind by a killed test run goes away; 0: never), TRAINYARD_CACHE.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

smtp_check_loopback
smtp_state "${1:-}"

exec 9>"$STATE_DIR/.lock"
flock -w 600 9 || smtp_die "another up.sh/down.sh has held $STATE_DIR/.lock for 600 s"

install_venv() {
  [[ -x "$SMTP_VENV/bin/python" ]] && "$SMTP_VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null && return 0
  local py
  py="$(command -v python3 || true)"
  [[ -n "$py" ]] || smtp_die "python3 is needed for the SMTP test server (Debian: apt-get install python3 python3-venv)"
  mkdir -p "$SMTP_CACHE_DIR"
  exec 8>"$SMTP_CACHE_DIR/.install.lock"
  flock -w 600 8 || smtp_die "another install has held $SMTP_CACHE_DIR/.install.lock for 600 s"
  if ! { [[ -x "$SMTP_VENV/bin/python" ]] && "$SMTP_VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; }; then
    local tmp
    tmp="$(mktemp -d "$SMTP_CACHE_DIR/.venv.XXXXXX")"
    smtp_log "installing aiosmtpd $SMTP_AIOSMTPD_VERSION into a virtual environment (once; cached in $SMTP_CACHE_DIR)"
    "$py" -m venv "$tmp" >&2 || { rm -rf "$tmp"; smtp_die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
    "$tmp/bin/python" -m pip install -q --disable-pip-version-check "aiosmtpd==$SMTP_AIOSMTPD_VERSION" >&2 ||
      { rm -rf "$tmp"; smtp_die "pip install aiosmtpd==$SMTP_AIOSMTPD_VERSION failed (see above)"; }
    # Built aside, then moved into place, so a half-built venv is never used. We run it only
    # as `venv/bin/python -m …`, which does not depend on where the venv was built.
    rm -rf "$SMTP_VENV"
    mv -T "$tmp" "$SMTP_VENV"
  fi
  exec 8>&-
}

make_certificate() {
  [[ -s "$CERT_FILE" && -s "$KEY_FILE" ]] && return 0
  command -v openssl >/dev/null 2>&1 || return 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=localhost' \
    -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout "$KEY_FILE.tmp" -out "$CERT_FILE.tmp" >/dev/null 2>&1 || return 1
  chmod 600 "$KEY_FILE.tmp"
  mv -f "$KEY_FILE.tmp" "$KEY_FILE"
  mv -f "$CERT_FILE.tmp" "$CERT_FILE"
}

install_venv
mkdir -p "$MAIL_DIR"

if pid="$(smtp_running_pid)" && [[ -s "$PORT_FILE" ]] && smtp_answers "$SMTP_HOST" "$(cat "$PORT_FILE")"; then
  smtp_log "reusing the server already running at $SMTP_HOST:$(cat "$PORT_FILE") (pid $pid)"
else
  if [[ -n "${pid:-}" ]]; then
    smtp_log "server pid $pid does not answer; restarting it"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PORT_FILE"
  tls_args=()
  if make_certificate; then
    if [[ ! -s "$PASSWORD_FILE" ]]; then
      (umask 077; od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$PASSWORD_FILE")
    fi
    tls_args=(--cert "$CERT_FILE" --key "$KEY_FILE" --user "$SMTP_USER" --password-file "$PASSWORD_FILE")
  else
    smtp_log "openssl not found: the server offers no STARTTLS and no AUTH"
  fi
  start_ns=$(date +%s%N)
  setsid "$SMTP_VENV/bin/python" "$HERE/server.py" --dir "$MAIL_DIR" --port-file "$PORT_FILE" \
    --host "$SMTP_HOST" --port "$SMTP_PORT" --max-lifetime "$SMTP_MAX_LIFETIME_S" "${tls_args[@]}" </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  for _ in $(seq 1 300); do
    [[ -s "$PORT_FILE" ]] && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$LOG_FILE" >&2; smtp_die "the server exited at start (log: $LOG_FILE)"; }
    sleep 0.1
  done
  [[ -s "$PORT_FILE" ]] || { tail -n 20 "$LOG_FILE" >&2; smtp_die "the server did not listen within 30 s (log: $LOG_FILE)"; }
  smtp_answers "$SMTP_HOST" "$(cat "$PORT_FILE")" || smtp_die "the server does not greet at $SMTP_HOST:$(cat "$PORT_FILE") (log: $LOG_FILE)"
  smtp_log "started aiosmtpd $SMTP_AIOSMTPD_VERSION at $SMTP_HOST:$(cat "$PORT_FILE") (pid $pid) in $(( ($(date +%s%N) - start_ns) / 1000000 )) ms"
fi

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
ca=""
password=""
user=""
if [[ -s "$CERT_FILE" && -s "$PASSWORD_FILE" ]]; then
  ca="$CERT_FILE"
  password="$(cat "$PASSWORD_FILE")"
  user="$SMTP_USER"
fi
{
  printf 'export TRAINYARD_SMTP_HOST=%s\n' "$(q "$SMTP_HOST")"
  printf 'export TRAINYARD_SMTP_PORT=%s\n' "$(q "$(tr -d '\n' <"$PORT_FILE")")"
  printf 'export TRAINYARD_SMTP_MAIL_DIR=%s\n' "$(q "$MAIL_DIR")"
  printf 'export TRAINYARD_SMTP_CA=%s\n' "$(q "$ca")"
  printf 'export TRAINYARD_SMTP_USER=%s\n' "$(q "$user")"
  printf 'export TRAINYARD_SMTP_PASSWORD=%s\n' "$(q "$password")"
} >"$ENV_FILE.tmp"
chmod 600 "$ENV_FILE.tmp"
mv -f "$ENV_FILE.tmp" "$ENV_FILE"
cat "$ENV_FILE"
