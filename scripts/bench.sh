#!/usr/bin/env bash
# Benchmarks: airlock beside skopeo and gpg, in one run. Usage: npm run bench [-- copy|...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
[ -n "${BENCH_NO_BUILD:-}" ] || npm run --silent build
npx --no-install tsc -p tsconfig.bench.json
node -e "require('./scripts/register-aliases.js')(require('path').resolve('.bench')); require('./.bench/test/bench/run.js').main(process.argv.slice(1)).catch(e => { console.error(e); process.exit(1); })" -- "$@"
