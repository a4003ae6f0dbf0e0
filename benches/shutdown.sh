#!/usr/bin/env bash
# SIGTERM → exit of `pipeline run` under load (the endless synthetic source, as fast as the
# machine goes), BATCH_SIZE=100, embedded default unless DATABASE_URL is set. Prints each
# run's time from the signal to the process's exit, and the slowest, next to the bound
# (SHUTDOWN_TIMEOUT, default 20 s). Uses target/release/pipeline (build it first).
#
#   bash benches/shutdown.sh [RUNS] [SECONDS_BEFORE_SIGTERM]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
warm="${2:-5}"
bin="${CARGO_TARGET_DIR:-target}/release/pipeline"
[ -x "$bin" ] || { echo "build it first: cargo build --release --bin pipeline" >&2; exit 1; }
slowest=0
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d /tmp/pfm-shutdown.XXXXXX)
  BATCH_SIZE=100 DATA_DIR="$dir" HTTP_PORT=0 LOG_LEVEL=WARN \
    ENABLE_S3_LAKEHOUSE_EXPORT="${ENABLE_S3_LAKEHOUSE_EXPORT:-true}" \
    "$bin" run >"$dir/out" 2>"$dir/err" &
  pid=$!
  sleep "$warm"
  t0=$(date +%s%N)
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  [ "$ms" -gt "$slowest" ] && slowest=$ms
  records=$(tail -n 1 "$dir/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records_in"])' 2>/dev/null || echo "?")
  echo "run $i: exit $status, SIGTERM -> exit ${ms} ms, records committed before exit: $records"
  rm -rf "$dir"
done
echo "slowest SIGTERM -> exit: ${slowest} ms (bound: SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT:-20s})"
