#!/usr/bin/env bash
# Builds native/aes-cfb.c (AES-256-CFB in place with the system's libcrypto,
# for the entries of bundles) into dist/native/aes-cfb.node. Node-API: one
# binary for every Node version. Without a C compiler, Node's headers or
# OpenSSL's (Debian: libssl-dev), it says so and airlock uses node:crypto.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/native/aes-cfb.node
inc="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
cc=$(command -v cc || command -v gcc || true)
if [ -z "$cc" ] || [ ! -f "$inc/node_api.h" ] || [ ! -f /usr/include/openssl/evp.h ]; then
  echo "airlock: not building native/aes-cfb.c (needs cc, $inc/node_api.h and libssl-dev); bundles seal and open entries with node:crypto" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
"$cc" -O2 -Wall -Werror -shared -fPIC -I"$inc" native/aes-cfb.c -lcrypto -o "$out.tmp"
mv "$out.tmp" "$out"
