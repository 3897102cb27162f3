#!/usr/bin/env bash
# Runs airlock: with a configuration ($AIRLOCK_CONFIG or ./airlock.yaml) it
# serves that; with none, it starts the local sandbox under ./.airlock.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run --silent build
if [ -n "${AIRLOCK_CONFIG:-}" ] || [ -f airlock.yaml ]; then
  exec node bin/airlock.js serve "$@"
fi
exec node bin/airlock.js sandbox "$@"
