# shellcheck shell=bash
# Shared settings for the local S3-compatible test server (up.sh, down.sh). Sourced, not run.
#
# The server is Versity Gateway (versitygw), an S3 server written in Go, built from the Go
# module proxy with `go install` and cached by version. Its posix backend keeps objects as
# files in STATE_DIR/data; it checks AWS Signature V4, so wrong credentials are refused as on
# AWS. See docs/artifacts.md for why this server and not MinIO or a mock.

S3_SERVER_MODULE="github.com/versity/versitygw/cmd/versitygw"
S3_SERVER_VERSION="${TRAINYARD_S3_SERVER_VERSION:-v1.8.0}"
S3_CACHE_DIR="${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/versitygw/$S3_SERVER_VERSION"
# A prebuilt binary may be given instead of building one.
S3_SERVER_BIN="${TRAINYARD_S3_SERVER_BIN:-$S3_CACHE_DIR/versitygw}"

S3_DEFAULT_STATE_DIR="${TMPDIR:-/tmp}/trainyard-s3"
S3_HOST="${TRAINYARD_S3_HOST:-127.0.0.1}"
S3_PORT="${TRAINYARD_S3_PORT:-19000}"
S3_REGION="${TRAINYARD_S3_REGION:-us-east-1}"
# Credentials of the server's root account. A test server on loopback only; the secret exists
# so that tests can check how a wrong one is reported.
S3_ACCESS_KEY="${TRAINYARD_S3_ACCESS_KEY:-trainyard}"
S3_SECRET_KEY="${TRAINYARD_S3_SECRET_KEY:-trainyard-test-secret}"
# Buckets to create, separated by spaces or commas. The first is the default artifacts bucket.
S3_BUCKETS="${TRAINYARD_S3_BUCKETS:-trainyard-test}"

s3_log() { printf '[s3] %s\n' "$*" >&2; }
s3_die() { printf '[s3] ERROR: %s\n' "$*" >&2; exit 1; }

# Sets STATE_DIR and the paths inside it from the first argument or the default.
s3_state() {
  STATE_DIR="${1:-$S3_DEFAULT_STATE_DIR}"
  mkdir -p "$STATE_DIR"
  STATE_DIR="$(cd "$STATE_DIR" && pwd)"
  DATA_DIR="$STATE_DIR/data"
  META_DIR="$STATE_DIR/meta"
  LOG_FILE="$STATE_DIR/server.log"
  PID_FILE="$STATE_DIR/server.pid"
  ENV_FILE="$STATE_DIR/env"
}

# Loopback only: this is a test server with a known secret.
s3_check_loopback() {
  case "$S3_HOST" in
    127.*|localhost|::1|'[::1]') ;;
    *) s3_die "TRAINYARD_S3_HOST=$S3_HOST is not a loopback address; the test server listens on loopback only" ;;
  esac
}

s3_endpoint_of() {
  local host="$1" port="$2"
  case "$host" in
    ::1) host='[::1]' ;;
  esac
  printf 'http://%s:%s' "$host" "$port"
}

# The pid in PID_FILE, when that process is alive and is our server binary.
s3_running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid exe
  pid="$(head -n 1 "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ -z "$exe" || "$(basename "${exe% (deleted)}")" == versitygw ]] || return 1
  printf '%s' "$pid"
}

# True when something at ENDPOINT answers HTTP (any status: an unsigned request gets 403).
s3_answers() {
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/" 2>/dev/null || true)"
  [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

# SHA-256 of an empty body: S3 servers want the payload hash as a header, which curl does not add.
S3_EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# A signed S3 request with curl's built-in SigV4 and an empty body: s3_curl METHOD URL [curl args...];
# prints the HTTP status.
s3_curl() {
  local method="$1" url="$2"
  shift 2
  if [[ "$method" == HEAD ]]; then set -- --head "$@"; else set -- -X "$method" "$@"; fi
  # The credentials go through a config on stdin, not the command line.
  local user="$S3_ACCESS_KEY:$S3_SECRET_KEY"
  user="${user//\\/\\\\}"
  printf 'user = "%s"\n' "${user//\"/\\\"}" |
    curl -s -o /dev/null -m 10 -w '%{http_code}' --config - \
      --aws-sigv4 "aws:amz:$S3_REGION:s3" -H "x-amz-content-sha256: $S3_EMPTY_SHA256" "$@" "$url"
}
