#!/usr/bin/env bash
# Usage: scripts/node-runtime.sh MAJOR
# Prints the path of a Node MAJOR binary that airlock can run on: the machine's
# own node when it is that major, otherwise the npm registry's `node` package
# fetched once into .cache/runtimes/node<MAJOR> (the official build). Nothing
# is compiled for it: on Node 22 and later the SQLite driver is better-sqlite3
# 13, prebuilt on Node-API (libs/database/src/sqlite-driver.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
major="$1"

if [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  node=$(command -v node)
else
  dir=.cache/runtimes/node$major
  node=$dir/node_modules/node/bin/node
  if ! "$node" --version >/dev/null 2>&1; then
    echo "airlock: fetching Node $major from the npm registry into $dir" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    # the `node` package installs the official build (binary and headers) for this platform
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$major" >&2
  fi
  node=$(cd "$(dirname "$node")" && pwd)/node
fi
echo "$node"
