#!/usr/bin/env bash
# Kafka → stages → PostgreSQL: records/s with 1 and 2 replicas, produce-to-commit latency
# (p50/p99) at a fixed offered rate, and a bare rdkafka consumer's rate on the same broker
# (the client's ceiling there). PostgreSQL keeps its default durability (fsync on); the
# broker is tansu 0.6 (memory storage), fed one record per produce batch (its known bugs,
# ../shared/TESTING.md). Everything shares this machine's cores.
#   bash benches/kafka.sh [RECORDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
rate=${2:-5000}
lat_n=$((rate * 12))
tmp=$(mktemp -d /tmp/pfm-kbench.XXXXXX); chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/kafka-test-server.sh stop "$tmp/kafka"
  bash scripts/pg-test-server.sh stop "$tmp/pg"
  rm -rf "$tmp"
}
trap cleanup EXIT
cargo build --release -q --bin pipeline --example kafka_consume_rate
bin=${CARGO_TARGET_DIR:-target}/release/pipeline
server=$(bash scripts/pg-test-server.sh start "$tmp/pg" "" --durable)
base=${server%/*}
kafka=$(bash scripts/kafka-test-server.sh start "$tmp/kafka")
export ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64) LOG_LEVEL=WARN DATA_DIR="$tmp/data"
export KAFKA_BOOTSTRAP_SERVERS="$kafka" KAFKA_PRODUCER_PROPERTIES=batch.num.messages=1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Progress from the replicas' own counters: polling count(*) in the database every 100 ms
# costs the database more than the pipeline's commits do on 2 cores.
ports=()
count() {
  local total=0 p v
  for p in "${ports[@]}"; do
    v=$(curl -sf "127.0.0.1:$p/metrics" | awk '/^pipeline_records_total/ {s += $2} END {print s + 0}') || v=0
    total=$((total + ${v%.*}))
  done
  echo "$total"
}
newdb() { psql -q "$server" -c "CREATE DATABASE $1"; DATABASE_URL="$base/$1" "$bin" migrate; }

bash scripts/kafka-test-server.sh topic "$kafka" bench 12
prod=$(KAFKA_TOPIC=bench "$bin" generate --to-kafka --count "$n" --seed 1)
echo "produced: $prod"
ceiling=$(${CARGO_TARGET_DIR:-target}/release/examples/kafka_consume_rate "$kafka" bench "$n")
echo "bare rdkafka consumer: $ceiling"

printf '\n%-34s %12s %12s\n' "Kafka -> stages -> PostgreSQL" "records/s" "seconds"
for replicas in 1 2; do
  db="kbench_$replicas"
  newdb "$db"
  pids=()
  ports=()
  for i in $(seq 1 "$replicas"); do
    port=$(free_port)
    DATABASE_URL="$base/$db" KAFKA_TOPIC=bench KAFKA_GROUP_ID="bench-$replicas" BATCH_SIZE=1000 \
      HTTP_PORT=$port "$bin" run >"$tmp/r$replicas-$i.log" 2>&1 &
    pids+=($!)
    ports+=("$port")
  done
  # Timed from 5 % to 100 % committed: group join and the first fetch are not throughput.
  start_at=$((n / 20))
  while [ "$(count)" -lt "$start_at" ]; do sleep 0.05; done
  t0=$(date +%s.%N)
  while [ "$(count)" -lt "$n" ]; do sleep 0.1; done
  t1=$(date +%s.%N)
  for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  pids=()
  python3 -c "import sys; n,s=int(sys.argv[1])-int(sys.argv[2]),float(sys.argv[4])-float(sys.argv[3]); print(f'{sys.argv[5]+\" replica(s), BATCH_SIZE 1000\":34} {n/s:12.0f} {s:12.1f}')" \
    "$n" "$start_at" "$t0" "$t1" "$replicas"
done

# Latency at a fixed offered rate: one replica (BATCH_SIZE 100, BATCH_LINGER_MS 20) already
# in the group, then lat_n records produced at $rate/s.
bash scripts/kafka-test-server.sh topic "$kafka" latency 12
newdb klat
port=$(free_port)
DATABASE_URL="$base/klat" KAFKA_TOPIC=latency KAFKA_GROUP_ID=latency BATCH_SIZE=100 BATCH_LINGER_MS=20 \
  HTTP_PORT=$port "$bin" run >"$tmp/lat.log" 2>&1 &
pids=($!)
ports=("$port")
until curl -sf "127.0.0.1:$port/metrics" | grep -q '^pipeline_kafka_assigned_partitions 12'; do sleep 0.2; done
offered=$(KAFKA_TOPIC=latency "$bin" generate --to-kafka --count "$lat_n" --seed 2 --rate "$rate")
while [ "$(count)" -lt "$lat_n" ]; do sleep 0.2; done
curl -sf "127.0.0.1:$port/metrics" >"$tmp/metrics.txt"
python3 - "$tmp/metrics.txt" "$offered" <<'PY'
import json, sys
buckets = []
count = 0
for line in open(sys.argv[1]):
    if line.startswith("pipeline_kafka_produce_to_commit_seconds_bucket"):
        le = line.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    elif line.startswith("pipeline_kafka_produce_to_commit_seconds_count"):
        count = float(line.split()[-1])
def quantile(q):
    # As Prometheus's histogram_quantile: linear within the bucket.
    rank, prev_le, prev_c = q * count, 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / max(c - prev_c, 1e-9))
        prev_le, prev_c = le, c
    return prev_le
offered = json.loads(sys.argv[2])
print(f"\nproduce -> commit latency at an offered {offered['records_per_second']:.0f} records/s "
      f"({int(count)} records, 1 replica, BATCH_SIZE 100): "
      f"p50 {quantile(0.5)*1000:.0f} ms, p99 {quantile(0.99)*1000:.0f} ms")
PY
