#!/usr/bin/env bash
# Build prerequisites of the `pipeline` binary on a fresh Debian/Ubuntu machine with Rust
# (the README's first command runs this). Idempotent: installs only what is missing, and
# does nothing at all when everything is there.
#
# Why each package: rdkafka builds its vendored librdkafka (Kafka stays in the default
# binary) with cmake, make and a C/C++ compiler, and needs the OpenSSL and curl headers
# (found through pkg-config); perl runs OpenSSL's and librdkafka's configure helpers.
#
# Runs as root directly; otherwise through `sudo` when it is available. Set
# PFM_SETUP_DRY_RUN=1 to print what would be installed without installing it.
set -euo pipefail

PACKAGES=(cmake make g++ pkg-config libssl-dev libcurl4-openssl-dev perl)

log() { printf '[setup] %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo is not on PATH: install Rust first (https://rustup.rs), then re-run"
  exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  log "not a Debian-based system: install the equivalents of ${PACKAGES[*]} yourself"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  log "build prerequisites present (${PACKAGES[*]})"
  exit 0
fi

log "missing: ${missing[*]}"
if [ "${PFM_SETUP_DRY_RUN:-0}" = 1 ]; then
  log "dry run: would run apt-get install -y --no-install-recommends ${missing[*]}"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  log "not root and no sudo: run as root: apt-get install -y ${missing[*]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
log "installed: ${missing[*]}"
