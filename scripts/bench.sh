#!/usr/bin/env bash
# Benchmarks: airlock beside skopeo and gpg, in one run. Usage: [BENCH_NODE=24] npm run bench [-- copy|...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
[ -n "${BENCH_NO_BUILD:-}" ] || npm run --silent build
npx --no-install tsc -p tsconfig.bench.json
# BENCH_NODE=24 runs the benchmarks (and every airlock command they start) on that Node major, fetched as the tests do
node=node
[ -z "${BENCH_NODE:-}" ] || node=$(bash scripts/node-runtime.sh "$BENCH_NODE")
"$node" -e "require('./scripts/register-aliases.js')(require('path').resolve('.bench')); require('./.bench/test/bench/run.js').main(process.argv.slice(1)).catch(e => { console.error(e); process.exit(1); })" -- "$@"
