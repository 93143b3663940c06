#!/usr/bin/env bash
# Installs everything slipway and its tests need on a fresh Debian 12 machine, then builds slipway.
# Idempotent: packages already present and an up-to-date node_modules are skipped.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Runtime needs: runc (OCI runtime), slirp4netns (user-space network for `run -p`), catatonit (`run --init`),
# attr (overlay opaque-dir xattrs), zstd/xz/bzip2 (layer and ADD archive formats).
# Test needs: debootstrap + busybox-static (offline base images), skopeo/umoci (independent readers),
# docker-registry (a real registry server).
PACKAGES=(runc slirp4netns catatonit attr zstd xz-utils bzip2 debootstrap busybox-static skopeo umoci docker-registry curl apache2-utils)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
