#!/usr/bin/env bash
# Installs what airlock and its tests need on a fresh machine: Debian packages
# (real registry, Redis, skopeo, gpg) and the Node dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v gpg >/dev/null || need+=(gnupg)
command -v docker-compose >/dev/null || need+=(docker-compose)   # checks docker-compose.yml (no engine needed)
command -v unzip >/dev/null || need+=(unzip)                      # the README's break-glass path, run by a test
command -v jq >/dev/null || need+=(jq)
# native/aes-cfb.c (scripts/build-native.sh) and its OpenSSL headers: installed when we can, optional otherwise
# (without them bundles use node:crypto, same bytes, slower where Node's build has no AES assembly)
if [ "$(id -u)" -eq 0 ]; then
  command -v cc >/dev/null || need+=(gcc)
  [ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "airlock: missing Debian packages: ${need[*]}. Run as root, or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "airlock: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts these as system services; airlock runs its own on loopback.
  for svc in redis-server docker-registry; do
    (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || true
  done
fi

stamp=node_modules/.airlock-lock-hash
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "airlock: installing Node dependencies"
  # npm install with the committed lock, not npm ci: npm 11.16+ rejects its own
  # lock files when an optional platform binding (jest's unrs-resolver) is unavailable.
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
elif [ ! -d dist ]; then
  npm run --silent build
fi
