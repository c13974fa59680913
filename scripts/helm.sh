#!/usr/bin/env bash
# Builds (once) and caches the `helm` binary from the Go module registry, then prints its path.
#   go install helm.sh/helm/v3/cmd/helm@<version>
# The binary is cached under ${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/helm/<version>/helm;
# later calls only check the cache. Concurrent calls are serialised with a lock.
#
# Env: TRAINYARD_HELM_VERSION (default below), TRAINYARD_HELM_BIN (a prebuilt helm to use
#      instead), TRAINYARD_CACHE, TRAINYARD_BUILD_NICE (default 10).
set -euo pipefail

HELM_VERSION="${TRAINYARD_HELM_VERSION:-v3.21.4}"
CACHE="${TRAINYARD_CACHE:-$HOME/.cache/trainyard}"
NICE="${TRAINYARD_BUILD_NICE:-10}"
BIN_DIR="$CACHE/helm/$HELM_VERSION"

log() { printf '[helm] %s\n' "$*" >&2; }
die() { printf '[helm] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -n "${TRAINYARD_HELM_BIN:-}" ]]; then
  [[ -x "$TRAINYARD_HELM_BIN" ]] || die "TRAINYARD_HELM_BIN=$TRAINYARD_HELM_BIN is not an executable"
  echo "$TRAINYARD_HELM_BIN"
  exit 0
fi
if [[ -x "$BIN_DIR/helm" ]]; then
  echo "$BIN_DIR/helm"
  exit 0
fi

command -v go >/dev/null || die "go is required to build helm (or set TRAINYARD_HELM_BIN)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.helm-build.lock"
command -v flock >/dev/null && flock 9
if [[ -x "$BIN_DIR/helm" ]]; then   # built by whoever held the lock
  echo "$BIN_DIR/helm"
  exit 0
fi

log "building helm $HELM_VERSION from the Go module proxy (first time only; several minutes on 2 cores)"
tmp="$(mktemp -d "$CACHE/.helm-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
started=$SECONDS
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
GOBIN="$tmp" GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" \
  nice -n "$NICE" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
  || die "building helm $HELM_VERSION failed"
mkdir -p "$BIN_DIR"
mv -f "$tmp/helm" "$BIN_DIR/helm"
log "built helm $HELM_VERSION in $((SECONDS - started)) s"
echo "$BIN_DIR/helm"
