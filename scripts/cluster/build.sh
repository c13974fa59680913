#!/usr/bin/env bash
# Build (once) and cache the binaries of the local Kubernetes test cluster:
#   kube-apiserver, kube-scheduler, kubectl  - from k8s.io/kubernetes via the Go module proxy
#   kwok                                     - go install sigs.k8s.io/kwok/cmd/kwok
#   etcd                                     - Debian package etcd-server
# Idempotent: anything already in the cache is reused. Prints the bin directory
# (a directory of links to all the binaries) on stdout.
#
# Env: TRAINYARD_CACHE (default $HOME/.cache/trainyard), TRAINYARD_BUILD_NICE (default 10),
#      TRAINYARD_ETCD (path of an etcd binary to use instead of the Debian one).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

NICE="${TRAINYARD_BUILD_NICE:-10}"
K8S_CMDS=(kube-apiserver kube-scheduler kubectl)

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0

command -v go >/dev/null || die "go is required to build the cluster binaries"
mkdir -p "$TRAINYARD_CACHE"

# Serialise concurrent builds (two test runs starting at once).
exec 9>"$TRAINYARD_CACHE/.build.lock"
if command -v flock >/dev/null; then
  flock 9
fi

build_k8s() {
  local missing=()
  for c in "${K8S_CMDS[@]}"; do
    [[ -x "$K8S_BIN_DIR/$c" ]] || missing+=("$c")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0

  log "building ${missing[*]} $K8S_VERSION (first time only; takes 15-25 min on 2 cores)"
  local ver="${K8S_VERSION#v}" major minor
  major="${ver%%.*}"
  minor="${ver#*.}"; minor="${minor%%.*}"
  local ldflags="-s -w" key val
  for kv in "gitVersion=$K8S_VERSION" "gitMajor=$major" "gitMinor=$minor" \
            "gitTreeState=clean" "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
    key="${kv%%=*}"; val="${kv#*=}"
    ldflags+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
  done

  local tmp pkgs=()
  tmp="$(mktemp -d "$TRAINYARD_CACHE/.k8s-build.XXXXXX")"
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (
    cd "$CLUSTER_SCRIPT_DIR/kubebuild"
    nice -n "$NICE" go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
  ) || { rm -rf "$tmp"; die "building Kubernetes binaries failed"; }
  mkdir -p "$K8S_BIN_DIR"
  for c in "${missing[@]}"; do mv -f "$tmp/$c" "$K8S_BIN_DIR/$c"; done
  rm -rf "$tmp"
}

build_kwok() {
  [[ -x "$KWOK_BIN_DIR/kwok" ]] && return 0
  log "building kwok $KWOK_VERSION"
  local tmp
  tmp="$(mktemp -d "$TRAINYARD_CACHE/.kwok-build.XXXXXX")"
  local ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
  ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"
  GOBIN="$tmp" nice -n "$NICE" go install -trimpath -ldflags "$ldflags" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || { rm -rf "$tmp"; die "building kwok failed"; }
  mkdir -p "$KWOK_BIN_DIR"
  mv -f "$tmp/kwok" "$KWOK_BIN_DIR/kwok"
  rm -rf "$tmp"
}

find_etcd() {
  if [[ -n "${TRAINYARD_ETCD:-}" ]]; then echo "$TRAINYARD_ETCD"; return 0; fi
  command -v etcd 2>/dev/null && return 0
  return 1
}

install_etcd() {
  find_etcd >/dev/null && return 0
  log "installing etcd-server from apt"
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "etcd is missing; install the etcd-server package (needs root)"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq etcd-server >&2
  # The package enables a system etcd on the default ports; the test cluster
  # runs its own, so stop that one if systemd started it.
  if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
    "${sudo[@]}" systemctl disable --now etcd >&2 || true
  fi
  find_etcd >/dev/null || die "etcd not found after installing etcd-server"
}

build_k8s
build_kwok
install_etcd

mkdir -p "$CLUSTER_BIN_DIR"
for c in "${K8S_CMDS[@]}"; do ln -sfn "$K8S_BIN_DIR/$c" "$CLUSTER_BIN_DIR/$c"; done
ln -sfn "$KWOK_BIN_DIR/kwok" "$CLUSTER_BIN_DIR/kwok"
ln -sfn "$(find_etcd)" "$CLUSTER_BIN_DIR/etcd"
echo "$CLUSTER_BIN_DIR"
