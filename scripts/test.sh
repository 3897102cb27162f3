#!/usr/bin/env bash
# The whole suite: lint (ESLint and Prettier), type check, unit specs, end-to-end tests against real
# redis-server, docker-registry, skopeo and gpg started on loopback; on the
# machine's Node and, when that is older, again on Node 24 (the supported LTS).
# Arguments go to jest (a file or -t pattern); AIRLOCK_TEST_RUNTIMES="20" or
# "24" runs one runtime only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# the CLI client types are generated from docs/openapi.json (scripts/gen-api-types.js) before anything reads them
node scripts/gen-api-types.js
npm run --silent lint
npx --no-install tsc -p tsconfig.json --noEmit
# the CLI tests run the built command, as users do
npm run --silent build

mine=$(node -p 'process.versions.node.split(".")[0]')
runtimes=${AIRLOCK_TEST_RUNTIMES:-$mine $([ "$mine" -lt 24 ] && echo 24)}
# another runtime is fetched (once, into .cache/runtimes) while the first run goes on
prepared=$(mktemp)
for major in $runtimes; do
  [ "$major" = "$mine" ] || { bash scripts/node-runtime.sh "$major" >"$prepared.$major" 2>"$prepared.$major.log" & echo $! >"$prepared.$major.pid"; }
done

passed=0; failed=0; rc=0; lines=()
for major in $runtimes; do
  if [ "$major" = "$mine" ]; then node=$(command -v node); else
    wait "$(cat "$prepared.$major.pid")" || { cat "$prepared.$major.log" >&2; echo "tests: 0 passed, 1 failed"; exit 1; }
    node=$(cat "$prepared.$major")
  fi
  echo "== the suite on Node $("$node" --version) ($node)"
  # jest prints its own summary after every reporter: the line CI reads is printed last, from the file our reporter wrote
  summary=$(mktemp)
  set +e
  # two workers: the end-to-end tests wait on child processes (gpg, skopeo, registries) much of the time
  AIRLOCK_TEST_SUMMARY_FILE="$summary" "$node" node_modules/jest/bin/jest.js --maxWorkers=2 "$@"
  r=$?
  set -e
  [ "$r" -eq 0 ] || rc=$r
  line=$(cat "$summary" 2>/dev/null || true); rm -f "$summary"
  [ -n "$line" ] || line="tests: 0 passed, 1 failed"
  lines+=("Node $major: $line")
  p=$(sed -E 's/^tests: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f))
done
rm -f "$prepared"*
echo
printf '%s\n' "${lines[@]}"
echo "tests: $passed passed, $failed failed"
exit "$rc"
