#!/usr/bin/env bash
# Builds the Node-API addons into dist/native (one binary for every Node
# version): native/aes-cfb.c (AES-256-CFB in place with the system's
# libcrypto, for the entries of bundles) and native/page-cache.c (reads bundle
# volumes around the page cache: O_DIRECT, and drops what was cached). Without a C
# compiler, Node's headers or, for the first, OpenSSL's (Debian:
# libssl-dev), it says so and airlock does without: node:crypto for the AES,
# the page cache left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
inc="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
cc=$(command -v cc || command -v gcc || true)
if [ -z "$cc" ] || [ ! -f "$inc/node_api.h" ]; then
  echo "airlock: not building native/*.c (needs cc and $inc/node_api.h); bundles seal and open entries with node:crypto and leave the page cache as it is" >&2
  exit 0
fi
mkdir -p dist/native
build() { # source, output, extra flags
  "$cc" -O2 -Wall -Werror -shared -fPIC -I"$inc" "$1" "${@:3}" -o "$2.tmp"
  mv "$2.tmp" "$2"
}
build native/page-cache.c dist/native/page-cache.node
if [ ! -f /usr/include/openssl/evp.h ]; then
  echo "airlock: not building native/aes-cfb.c (needs libssl-dev); bundles seal and open entries with node:crypto" >&2
  exit 0
fi
build native/aes-cfb.c dist/native/aes-cfb.node -lcrypto
