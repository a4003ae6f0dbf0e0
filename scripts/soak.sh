#!/usr/bin/env bash
# The soak run, one command: bash scripts/soak.sh [SECONDS] [RATE] [REPLICAS]
# Defaults: 30 minutes at 5,000 records/s with 3 replicas, release build. Starts its own
# PostgreSQL (default durability), Kafka broker and S3 server on 127.0.0.1 (tests/it/soak.rs),
# prints per-window throughput, p99 batch and produce→commit latency, RSS, descriptors and
# sockets of each replica, then the leak check; JSON in target/soak-report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}; rate=${2:-5000}; replicas=${3:-3}
tmp=$(mktemp -d /tmp/pfm-soak.XXXXXX); chmod 755 "$tmp"
cleanup() { bash scripts/kafka-test-server.sh stop "$tmp/kafka"; rm -rf "$tmp"; }
trap cleanup EXIT
PFM_TEST_KAFKA=$(bash scripts/kafka-test-server.sh start "$tmp/kafka")
export PFM_TEST_KAFKA PFM_TEST_PYTHON="$PWD/.venv-test/bin/python"
export PFM_SOAK_SECONDS=$seconds PFM_SOAK_RATE=$rate PFM_SOAK_REPLICAS=$replicas
export PFM_SOAK_WINDOW=${PFM_SOAK_WINDOW:-60} PFM_SOAK_REPORT="$PWD/target/soak-report.json"
# PFM_SOAK_PUBLISH=false leaves Kafka publication off: on 2 cores tansu, fed one record per
# produce batch (its bug workaround), cannot take 5,000 records/s in and 5,000 out as well.
export PFM_SOAK_PUBLISH=${PFM_SOAK_PUBLISH:-true}
# PFM_SOAK_SOURCE=fifo feeds each replica through a named pipe instead of the topic, for
# rates the test broker cannot sustain (docs/reliability.md).
export PFM_SOAK_SOURCE=${PFM_SOAK_SOURCE:-kafka}
cargo nextest run --release --test it -E 'test(/^soak::/)' --no-capture --test-threads 1
