#!/usr/bin/env bash
# The whole story in one command, on two local sandboxes (installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run --silent build
exec node bin/airlock.js demo "$@"
