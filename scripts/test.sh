#!/usr/bin/env bash
# The whole suite: type check, unit specs, end-to-end tests against real
# redis-server, docker-registry, skopeo and gpg started on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx --no-install tsc -p tsconfig.json --noEmit
# the CLI tests run the built command, as users do
npm run --silent build
npx --no-install jest "$@"
