#!/usr/bin/env bash
# Creates a virtual environment with Apache Airflow 3 from PyPI, for the benchmark's peer runs.
#
#   bench/peers/airflow/setup.sh
#
# The venv goes to ${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/airflow-<version>/venv and is
# reused when it already has this version. Prints the venv's path on stdout.
#
# Pinned: Airflow itself, and every dependency through constraints-<version>.txt beside this
# script (the exact set this benchmark was run with; see README.md). Airflow's official
# constraint files are on GitHub; this setup needs only PyPI. A version without a constraints
# file here installs with pip's own resolution (and says so).
#
# Env: AIRFLOW_BENCH_VERSION (default below), AIRFLOW_BENCH_PYTHON (default python3).
set -euo pipefail

VERSION="${AIRFLOW_BENCH_VERSION:-3.3.2}"
PYTHON="${AIRFLOW_BENCH_PYTHON:-python3}"
CACHE="${TRAINYARD_CACHE:-$HOME/.cache/trainyard}"
ROOT="$CACHE/airflow-$VERSION"
VENV="$ROOT/venv"

log() { printf '[airflow-setup] %s\n' "$*" >&2; }

"$PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' \
  || { log "Airflow $VERSION needs Python 3.10–3.13; set AIRFLOW_BENCH_PYTHON"; exit 1; }

if [[ -x "$VENV/bin/airflow" ]] && "$VENV/bin/python" -c "import airflow, sys; sys.exit(0 if airflow.__version__ == '$VERSION' else 1)" 2>/dev/null; then
  log "reusing $VENV (Airflow $VERSION)"
  echo "$VENV"
  exit 0
fi

mkdir -p "$ROOT"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade 'pip>=24' >&2
# psycopg2-binary: the Postgres driver for the metadata database (Airflow's [postgres] extra
# also pulls the Postgres provider, which the benchmark does not need).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONSTRAINTS=()
if [[ -f "$HERE/constraints-$VERSION.txt" ]]; then
  CONSTRAINTS=(-c "$HERE/constraints-$VERSION.txt")
else
  log "no constraints-$VERSION.txt here: dependencies are resolved by pip, unpinned"
fi
log "installing apache-airflow==$VERSION from PyPI (a few minutes)"
"$VENV/bin/pip" install --quiet "${CONSTRAINTS[@]}" \
  "apache-airflow==$VERSION" \
  "apache-airflow-providers-standard" \
  "psycopg2-binary>=2.9,<3" \
  >&2
"$VENV/bin/pip" freeze >"$ROOT/pip-freeze.txt"
log "installed; the exact package versions are in $ROOT/pip-freeze.txt"
echo "$VENV"
