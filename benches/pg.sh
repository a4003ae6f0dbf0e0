#!/usr/bin/env bash
# End-to-end throughput into PostgreSQL (BATCH_SIZE 100 and 1000) on 200,000 generated
# records, against the physical limit: COPY of the same rows from psql. PostgreSQL runs
# on this machine with its default durability settings (fsync on).
#   [RUNS=3] [PIPELINE_BIN=path] bash benches/pg.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
tmp=$(mktemp -d /tmp/pfm-bench.XXXXXX); chmod 755 "$tmp"
trap 'bash scripts/pg-test-server.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
# PIPELINE_BIN runs a binary built elsewhere (another commit, for a before/after comparison).
if [ -n "${PIPELINE_BIN:-}" ]; then
  bin=$PIPELINE_BIN
else
  cargo build --release --bin pipeline -q
  bin=${CARGO_TARGET_DIR:-target}/release/pipeline
fi
server=$(bash scripts/pg-test-server.sh start "$tmp/pg" "" --durable)
base=${server%/*}
export ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64) LOG_LEVEL=WARN HTTP_PORT=0 DATA_DIR="$tmp/data"
"$bin" generate --count "$n" --seed 1 > "$tmp/in.jsonl"
printf '%-28s %12s %14s %12s\n' "path" "records/s" "elapsed (s)" "peak RSS MiB"
# Each run gets a fresh database, and a CHECKPOINT first, so no run pays for flushing the
# previous one's pages. RUNS (default 3) runs per batch size; the median is printed last.
runs=${RUNS:-3}
for bs in 100 1000; do
  all=()
  for r in $(seq 1 "$runs"); do
    db="bench_${bs}_$r"
    psql -q "$server" -c "CREATE DATABASE $db"
    DATABASE_URL="$base/$db" "$bin" migrate
    psql -q "$server" -c "CHECKPOINT"
    out=$(DATABASE_URL="$base/$db" BATCH_SIZE=$bs /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" run --input "$tmp/in.jsonl" | tail -1)
    rps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records_per_second"])' "$out")
    el=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["elapsed_seconds"])' "$out")
    all+=("$rps")
    printf '%-28s %12.0f %14s %12.1f\n' "pipeline BATCH_SIZE=$bs #$r" "$rps" "$el" "$(echo "$(cat "$tmp/rss") / 1024" | bc -l)"
    [ "$r" -lt "$runs" ] && psql -q "$server" -c "DROP DATABASE $db"
  done
  median=$(printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  printf '%-28s %12.0f\n' "  median of $runs" "$median"
done
# Physical limit: the same rows (as stored) loaded with COPY into an empty copy of the table.
last="$base/bench_1000_$runs"
psql -q "$last" -c "\copy transactions TO '$tmp/rows.csv' CSV"
psql -q "$last" -c "CREATE TABLE copy_target (LIKE transactions INCLUDING ALL)"
rows=$(wc -l < "$tmp/rows.csv")
psql -q "$last" -c "CHECKPOINT"
start=$(date +%s.%N)
psql -q "$last" -c "\copy copy_target FROM '$tmp/rows.csv' CSV"
end=$(date +%s.%N)
copy_rps=$(echo "$rows / ($end - $start)" | bc -l)
printf '%-28s %12.0f %14.3f %12s\n' "COPY baseline ($rows rows)" "$copy_rps" "$(echo "$end - $start" | bc -l)" "-"
