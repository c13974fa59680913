#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond npm packages. Idempotent: a second
# run finds everything in place. Heavy builds are cached under ${TRAINYARD_CACHE:-~/.cache/trainyard}.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "test-deps: need root to install $* (or install them yourself)" >&2; return 1; fi
  if [ -z "${TRAINYARD_APT_UPDATED:-}" ]; then apt-get update -qq; export TRAINYARD_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need python3 || apt_install python3

# Postgres (Debian's package): the store and API tests run against a real server, which
# test/support/postgres.ts starts with scripts/postgres/up.sh.
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_install postgresql

# A real S3-compatible server (Versity Gateway, built once with go install and cached).
bash scripts/s3/up.sh >/dev/null

# Debian's Chromium for the browser tests (driven by playwright-core).
bash scripts/chromium.sh >/dev/null

# helm, built once from the Go module registry, for the chart test.
bash scripts/helm.sh >/dev/null

# python3-venv for the local SMTP test server (aiosmtpd in a cached venv).
python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv

# A real Kubernetes control plane (kube-apiserver, kube-scheduler, etcd, KWOK), built once
# from the Go module registry and cached; the Kubernetes tests start it.
bash scripts/cluster/build.sh >/dev/null
