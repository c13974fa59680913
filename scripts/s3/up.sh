#!/usr/bin/env bash
# Start a real S3-compatible server for tests, on loopback.
#
#   scripts/s3/up.sh [STATE_DIR]
#
# STATE_DIR defaults to ${TMPDIR:-/tmp}/trainyard-s3 and holds the objects (data/), the
# server's metadata (meta/), its log, its pid and an env file. The server binary is built once
# with `go install` from the Go module proxy (a few minutes on two cores) and cached under
# ${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/versitygw/<version>/.
#
# Safe to call again, and from several processes at once: a running server is reused, and the
# buckets are created when missing. Prints shell assignments on stdout and writes the same to
# STATE_DIR/env (source it):
#   TRAINYARD_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
#   TRAINYARD_S3_BUCKET, TRAINYARD_S3_BUCKETS, TRAINYARD_ARTIFACTS_URI
#
# Settings (env): TRAINYARD_S3_PORT (19000), TRAINYARD_S3_HOST (127.0.0.1, loopback only),
# TRAINYARD_S3_ACCESS_KEY, TRAINYARD_S3_SECRET_KEY, TRAINYARD_S3_BUCKETS (trainyard-test),
# TRAINYARD_S3_REGION (us-east-1), TRAINYARD_S3_SERVER_BIN (a prebuilt versitygw),
# TRAINYARD_S3_SERVER_VERSION, TRAINYARD_CACHE.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

s3_check_loopback
s3_state "${1:-}"
command -v curl >/dev/null 2>&1 || s3_die "curl is needed (Debian: apt-get install curl)"

# One caller at a time per state directory; the others wait, then reuse.
exec 9>"$STATE_DIR/.lock"
flock -w 900 9 || s3_die "another up.sh/down.sh has held $STATE_DIR/.lock for 900 s"

build_server() {
  [[ -x "$S3_SERVER_BIN" ]] && return 0
  [[ -z "${TRAINYARD_S3_SERVER_BIN:-}" ]] || s3_die "TRAINYARD_S3_SERVER_BIN=$TRAINYARD_S3_SERVER_BIN is not an executable file"
  command -v go >/dev/null 2>&1 || s3_die "the S3 test server is built with Go, which is not on PATH: install Go 1.25 or later, or set TRAINYARD_S3_SERVER_BIN to a versitygw binary"
  mkdir -p "$S3_CACHE_DIR"
  # Several state directories may build at once: one build per cache directory.
  exec 8>"$S3_CACHE_DIR/.build.lock"
  flock -w 1800 8 || s3_die "another build has held $S3_CACHE_DIR/.build.lock for 30 minutes"
  if [[ ! -x "$S3_SERVER_BIN" ]]; then
    local tmp start
    tmp="$(mktemp -d "$S3_CACHE_DIR/.build.XXXXXX")"
    start=$(date +%s)
    s3_log "building $S3_SERVER_MODULE@$S3_SERVER_VERSION (once; cached in $S3_CACHE_DIR)"
    if ! CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" nice -n 10 \
      go install -ldflags='-s -w' "$S3_SERVER_MODULE@$S3_SERVER_VERSION" >&2; then
      rm -rf "$tmp"
      s3_die "go install $S3_SERVER_MODULE@$S3_SERVER_VERSION failed (see above)"
    fi
    mv -f "$tmp/versitygw" "$S3_SERVER_BIN"
    rm -rf "$tmp"
    s3_log "built in $(( $(date +%s) - start )) s"
  fi
  exec 8>&-
}

endpoint="$(s3_endpoint_of "$S3_HOST" "$S3_PORT")"
if pid="$(s3_running_pid)"; then
  # Reuse: the endpoint of the running server is in its env file.
  if [[ -f "$ENV_FILE" ]]; then
    running="$(sed -n 's/^export TRAINYARD_S3_ENDPOINT=//p' "$ENV_FILE" | tr -d "'\"")"
    [[ -n "$running" ]] && endpoint="$running"
  fi
  if s3_answers "$endpoint"; then
    s3_log "reusing the server already running at $endpoint (pid $pid)"
  else
    s3_log "server pid $pid does not answer at $endpoint; restarting it"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    pid=""
  fi
else
  pid=""
fi

if [[ -z "$pid" ]]; then
  build_server
  if s3_answers "$endpoint"; then
    s3_die "something else already answers at $endpoint; stop it or choose another port with TRAINYARD_S3_PORT"
  fi
  mkdir -p "$DATA_DIR" "$META_DIR"
  start_ns=$(date +%s%N)
  # The credentials go through the environment, not the command line, so `ps` does not show them.
  ROOT_ACCESS_KEY_ID="$S3_ACCESS_KEY" ROOT_SECRET_ACCESS_KEY="$S3_SECRET_KEY" VGW_REGION="$S3_REGION" \
    setsid "$S3_SERVER_BIN" --port "$S3_HOST:$S3_PORT" --quiet \
    posix --sidecar "$META_DIR" "$DATA_DIR" </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  for _ in $(seq 1 300); do
    s3_answers "$endpoint" && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$LOG_FILE" >&2; s3_die "the server exited at start (log: $LOG_FILE)"; }
    sleep 0.1
  done
  s3_answers "$endpoint" || { tail -n 20 "$LOG_FILE" >&2; s3_die "the server did not answer at $endpoint within 30 s (log: $LOG_FILE)"; }
  s3_log "started versitygw $S3_SERVER_VERSION at $endpoint (pid $pid) in $(( ($(date +%s%N) - start_ns) / 1000000 )) ms"
fi

first_bucket=""
for bucket in ${S3_BUCKETS//,/ }; do
  [[ -n "$first_bucket" ]] || first_bucket="$bucket"
  code="$(s3_curl HEAD "$endpoint/$bucket")"
  if [[ "$code" == 200 ]]; then continue; fi
  code="$(s3_curl PUT "$endpoint/$bucket")"
  case "$code" in
    200|409) s3_log "bucket $bucket ready" ;;
    403) s3_die "the server at $endpoint refused the credentials while creating bucket $bucket: it was started with other ones (run down.sh, then up.sh)" ;;
    *) s3_die "creating bucket $bucket at $endpoint failed with HTTP $code (log: $LOG_FILE)" ;;
  esac
done
[[ -n "$first_bucket" ]] || s3_die "TRAINYARD_S3_BUCKETS is empty"

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
  printf 'export TRAINYARD_S3_ENDPOINT=%s\n' "$(q "$endpoint")"
  printf 'export AWS_ACCESS_KEY_ID=%s\n' "$(q "$S3_ACCESS_KEY")"
  printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$(q "$S3_SECRET_KEY")"
  printf 'export AWS_REGION=%s\n' "$(q "$S3_REGION")"
  printf 'export TRAINYARD_S3_BUCKET=%s\n' "$(q "$first_bucket")"
  printf 'export TRAINYARD_S3_BUCKETS=%s\n' "$(q "${S3_BUCKETS//,/ }")"
  printf 'export TRAINYARD_ARTIFACTS_URI=%s\n' "$(q "s3://$first_bucket/artifacts")"
} >"$ENV_FILE.tmp"
chmod 600 "$ENV_FILE.tmp"
mv -f "$ENV_FILE.tmp" "$ENV_FILE"
cat "$ENV_FILE"
