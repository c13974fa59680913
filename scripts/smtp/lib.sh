# shellcheck shell=bash
# Shared settings for the local SMTP test server (up.sh, down.sh). Sourced, not run.
#
# The server is aiosmtpd (PyPI), an asyncio SMTP server, run by server.py beside this file
# from a virtual environment cached by version. It writes every message it accepts to
# STATE_DIR/messages as a file, so tests read what arrived.

SMTP_AIOSMTPD_VERSION="${TRAINYARD_AIOSMTPD_VERSION:-1.4.6}"
SMTP_CACHE_DIR="${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/aiosmtpd/$SMTP_AIOSMTPD_VERSION"
SMTP_VENV="$SMTP_CACHE_DIR/venv"
SMTP_DEFAULT_STATE_DIR="${TMPDIR:-/tmp}/trainyard-smtp"
SMTP_HOST="${TRAINYARD_SMTP_HOST:-127.0.0.1}"
# 0: any free port; the server writes the one it got to STATE_DIR/port.
SMTP_PORT="${TRAINYARD_SMTP_PORT:-0}"
SMTP_USER="${TRAINYARD_SMTP_USER:-trainyard}"
SMTP_MAX_LIFETIME_S="${TRAINYARD_SMTP_MAX_LIFETIME_S:-3600}"

smtp_log() { printf '[smtp] %s\n' "$*" >&2; }
smtp_die() { printf '[smtp] ERROR: %s\n' "$*" >&2; exit 1; }

# Sets STATE_DIR and the paths inside it from the first argument or the default.
smtp_state() {
  STATE_DIR="${1:-$SMTP_DEFAULT_STATE_DIR}"
  mkdir -p "$STATE_DIR"
  STATE_DIR="$(cd "$STATE_DIR" && pwd)"
  MAIL_DIR="$STATE_DIR/messages"
  LOG_FILE="$STATE_DIR/server.log"
  PID_FILE="$STATE_DIR/server.pid"
  PORT_FILE="$STATE_DIR/port"
  ENV_FILE="$STATE_DIR/env"
  CERT_FILE="$STATE_DIR/cert.pem"
  KEY_FILE="$STATE_DIR/key.pem"
  PASSWORD_FILE="$STATE_DIR/password"
}

smtp_check_loopback() {
  case "$SMTP_HOST" in
    127.0.0.1|localhost|::1) ;;
    *) smtp_die "TRAINYARD_SMTP_HOST=$SMTP_HOST is not a loopback address; the test server listens on loopback only" ;;
  esac
}

# The pid in PID_FILE, when that process is alive and runs our server.py.
smtp_running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(head -n 1 "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'server.py' || return 1
  printf '%s' "$pid"
}

# True when something accepts TCP connections at HOST PORT and greets with 220.
smtp_answers() {
  "$SMTP_VENV/bin/python" - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    ok = s.recv(512).startswith(b'220')
    s.sendall(b'QUIT\r\n')
    s.close()
    sys.exit(0 if ok else 1)
except OSError:
    sys.exit(1)
PY
}
