#!/usr/bin/env bash
# A fleet of long-lived `pipeline worker` processes (not --once) on PostgreSQL, sharing one
# LLM server through the cluster limit (issue 15, decision 0015): investigations/s and the
# queue-wait p99 against the LLM's latency and LLM_CLUSTER_CONCURRENCY.
#
# The LLM server is a STAND-IN (in benches/llm_agents.py), not a model: one request at a
# time after a fixed latency, QUEUE more held, the rest refused with 503, as an Ollama with
# OLLAMA_NUM_PARALLEL=1 and a short OLLAMA_MAX_QUEUE. `pipeline run --count RECORDS` decides
# the records once (WORKFLOWS_IN_PROCESS=false); its pending investigations are the template
# that every cell of the sweep copies, so each cell investigates the same reviews.
#   [LATENCIES=50,150,500] [LIMITS=1,2,4] [WORKERS=6] [QUEUE=2] [PIPELINE_BIN=path] \
#     bash benches/llm_agents.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4000}
python=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/pfm-bench-llm.XXXXXX); chmod 755 "$tmp"
cleanup() {
  bash scripts/pg-test-server.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# PIPELINE_BIN runs a binary built elsewhere (as in benches/pg.sh).
if [ -n "${PIPELINE_BIN:-}" ]; then
  bin=$PIPELINE_BIN
else
  cargo build --release -q --bin pipeline
  bin=${CARGO_TARGET_DIR:-target}/release/pipeline
fi
server=$(bash scripts/pg-test-server.sh start "$tmp/pg")
base=${server%/*}
psql -qAtX "$server" -c "CREATE DATABASE llm_template"
export DATABASE_URL=$base/llm_template
ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)
export ENCRYPTION_KEY LOG_LEVEL=WARN HTTP_PORT=0 DATA_DIR="$tmp/data"
"$bin" migrate >/dev/null
WORKFLOWS_IN_PROCESS=false AUDIT_WINDOW_MINUTES=0 BATCH_SIZE=1000 "$bin" run --count "$n" |
  tail -1
pending="SELECT count(*) FROM workflows WHERE kind = 'investigation' AND status = 'runnable'"
echo "pending investigations: $(psql -qAtX "$DATABASE_URL" -c "$pending")"
mkdir -p "$tmp/logs"
BENCH_LOGS="$tmp/logs" "$python" benches/llm_agents.py "$bin" "$base" llm_template \
  "${LATENCIES:-50,150,500}" "${LIMITS:-1,2,4}" "${WORKERS:-6}" "${QUEUE:-2}"
