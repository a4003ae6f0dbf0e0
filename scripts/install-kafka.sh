#!/usr/bin/env bash
# Installs the Kafka-protocol broker the tests use; idempotent.
#   tansu   an Apache-Kafka-compatible broker in Rust (../shared/TESTING.md), into $TANSU_ROOT
#   kafka-python  the independent client the lag test checks against (in .venv-test)
# A tansu build takes 15-20 minutes on 2 cores, so an existing binary is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
TANSU_ROOT="${TANSU_ROOT:-/opt/tansu}"
TANSU_VERSION=0.6.0
log() { printf '[install-kafka] %s\n' "$*"; }

if [ -x "$TANSU_ROOT/bin/tansu" ] && "$TANSU_ROOT/bin/tansu" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  log "tansu present: $("$TANSU_ROOT/bin/tansu" --version)"
else
  log "building tansu $TANSU_VERSION into $TANSU_ROOT (15-20 min on 2 cores)"
  # Only the dynostore feature gives tansu a storage engine that works here. No LTO,
  # many-unit codegen, opt-level 1: this is a test broker, its build time (on CI's critical
  # path) matters more than its speed, which stays far above what the tests ask of it.
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=true \
    cargo install --locked tansu --version "=$TANSU_VERSION" --features dynostore --root "$TANSU_ROOT"
fi

if [ -x .venv-test/bin/python ] && ! .venv-test/bin/python -c 'import kafka' 2>/dev/null; then
  log "installing kafka-python into .venv-test"
  .venv-test/bin/pip install -q 'kafka-python==2.2.15'
fi
log "done"
