#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests and the UI benchmark, if it is missing.
# Idempotent: does nothing when a working chromium is already there. Never downloads a
# browser of its own (playwright-core drives this one through executablePath).
#
#   bash scripts/chromium.sh          # prints the path of the binary
#   CHROMIUM_PATH=/path/to/chromium   # use another binary (the tests read it too)
set -euo pipefail

bin="${CHROMIUM_PATH:-/usr/bin/chromium}"

works() {
  [ -x "$1" ] && "$1" --headless=new --no-sandbox --disable-gpu --version >/dev/null 2>&1
}

if works "$bin"; then
  echo "$bin"
  exit 0
fi

if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not a working chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing and this is not a Debian-like system: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "chromium is missing: run as root, or install it with: apt-get install -y chromium" >&2
    exit 1
  fi
fi

echo "installing Debian's chromium (apt-get)…" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq chromium >&2

if ! works "$bin"; then
  echo "chromium was installed but $bin does not start" >&2
  exit 1
fi
echo "$bin"
