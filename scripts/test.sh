#!/usr/bin/env bash
# The whole suite: type check, unit specs, end-to-end tests against real
# redis-server, docker-registry, skopeo and gpg started on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx --no-install tsc -p tsconfig.json --noEmit
# the CLI tests run the built command, as users do
npm run --silent build
# jest prints its own summary after every reporter: the line CI reads is printed last, from the file our reporter wrote
summary="$(mktemp)"
set +e
AIRLOCK_TEST_SUMMARY_FILE="$summary" npx --no-install jest "$@"
rc=$?
set -e
echo
if [ -s "$summary" ]; then cat "$summary"; else echo "tests: 0 passed, 1 failed"; fi
rm -f "$summary"
exit "$rc"
