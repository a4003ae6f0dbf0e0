#!/usr/bin/env bash
# The test command: starts a throwaway PostgreSQL, an S3 server (moto) and a Kafka-protocol
# broker (tansu), runs every test
# in the workspace against them (and the embedded SQLite), then stops them. Needs
# scripts/install-test-deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/pfm-test.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash scripts/kafka-test-server.sh stop "$tmp/kafka"
  bash scripts/s3-test-server.sh stop "$tmp/s3"
  bash scripts/pg-test-server.sh stop "$tmp/pg"
  rm -rf "$tmp"
}
trap cleanup EXIT
PFM_TEST_PG_URL=$(bash scripts/pg-test-server.sh start "$tmp/pg")
export PFM_TEST_PG_URL
PFM_TEST_S3_URL=$(bash scripts/s3-test-server.sh start "$tmp/s3")
export PFM_TEST_S3_URL
PFM_TEST_KAFKA=$(bash scripts/kafka-test-server.sh start "$tmp/kafka")
export PFM_TEST_KAFKA
export PFM_TEST_PYTHON="$PWD/.venv-test/bin/python"
export PFM_TEST_MCP_INSPECTOR="$PWD/.npm-test/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
export PFM_TEST_PROMETHEUS="${PFM_TEST_PROMETHEUS:-/usr/bin/prometheus}"
# The Kafka tests (several pipeline replicas, a producer and kafka-python each) run after the
# rest, one at a time: on 2 cores, sharing the machine with the other suites starves the
# consumers' group heartbeats and turns timing into noise.
# The root crate's integration tests are one binary (tests/it/main.rs); a group is selected by
# its module path.
kafka_tests='test(/^kafka_group::/) | test(/^kafka_publish::/) | test(/^kafka_outage::/) | test(/^prometheus_scrape::/) | test(/^erasure::/) | test(/^chaos::/) | test(/^soak::/)'
status=0
cargo nextest run --workspace --no-fail-fast -E "not ($kafka_tests)" "$@" || status=$?
cargo nextest run --workspace --no-fail-fast --test-threads 1 -E "$kafka_tests" "$@" || status=$?
# A small run of the pipeline benchmark (issue 17), in the tests' profile: it prints the
# figures and asserts correctness only (decode's paths agree, the govern memo decides as the
# VM does, every record lands once); the figures to quote come from `cargo bench`.
if [ $# -eq 0 ]; then
  BENCH_RECORDS=5000 cargo test --bench pipeline || status=$?
fi
exit $status
