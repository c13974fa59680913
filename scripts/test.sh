#!/usr/bin/env bash
# The test command (`npm test`): makes sure what the tests need is installed and running,
# builds, runs every test, and ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-deps.sh
npm run build --silent
# Type-check everything, tests included (the build covers src/ only).
npx tsc -p tsconfig.json --noEmit

mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile=test-artifacts/vitest.json "$@" || status=$?
node scripts/test-summary.mjs test-artifacts/vitest.json || true
exit "$status"
