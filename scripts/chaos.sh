#!/usr/bin/env bash
# The chaos runner, one command: bash scripts/chaos.sh [SECONDS] [SEED] [RATE]
# Starts its own PostgreSQL, Kafka broker (tansu) and S3 server (moto) on 127.0.0.1 behind
# fault proxies, 3 pipeline replicas and a steady load, injects faults from SEED, reconciles
# every record and scans every store for leaked PII and secrets (tests/it/chaos.rs). Needs
# scripts/install-test-deps.sh. Release build; prints the result table, and writes it as JSON
# to target/chaos-report.json. CHAOS_PROFILE=dev uses the debug build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}; seed=${2:-$(date +%s)}; rate=${3:-100}
# Faults follow each other (each waits for the recovery of the previous one) until SECONDS
# have passed, and at least 20 are injected.
faults=20
tmp=$(mktemp -d /tmp/pfm-chaos.XXXXXX); chmod 755 "$tmp"
cleanup() { bash scripts/kafka-test-server.sh stop "$tmp/kafka"; rm -rf "$tmp"; }
trap cleanup EXIT
# The chaos test starts its own broker; this one only signals that the services are installed.
PFM_TEST_KAFKA=$(bash scripts/kafka-test-server.sh start "$tmp/kafka")
export PFM_TEST_KAFKA PFM_TEST_PYTHON="$PWD/.venv-test/bin/python"
export PFM_CHAOS_SECONDS=$seconds PFM_CHAOS_SEED=$seed PFM_CHAOS_RATE=$rate PFM_CHAOS_MIN_FAULTS=$faults
export PFM_CHAOS_REPORT="$PWD/target/chaos-report.json"
cargo nextest run --cargo-profile "${CHAOS_PROFILE:-release}" --test it -E 'test(/^chaos::/)' --no-capture --test-threads 1
