#!/usr/bin/env bash
# Records/s with the policy decided by an OPA sidecar (OPA_URL) against the embedded engine,
# at BATCH_SIZE 100 and 1000, on the embedded default (SQLite), same generated records.
#
# The sidecar is the project's STAND-IN OPA (examples/opa_standin.rs: regorus' interpreter
# over policies/ behind OPA's Data API), because no OPA binary can be installed here; a real
# OPA's own evaluation cost will differ, the client's cost (HTTP, JSON, concurrency) is what
# this measures. The client's request latency (p50/p99) is read from the pipeline's
# pipeline_opa_request_duration_seconds histogram, scraped until the run ends.
#   [RUNS=3] [OPA_MAX_CONCURRENCY=16] bash benches/opa.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${RUNS:-3}
tmp=$(mktemp -d /tmp/pfm-bench-opa.XXXXXX)
opa_pid=
cleanup() { [ -n "$opa_pid" ] && kill "$opa_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cargo build --release -q --bin pipeline --example opa_standin
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/pipeline
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
opa_port=$(free_port)
"$target/release/examples/opa_standin" policies "$opa_port" bench-rev >"$tmp/opa.log" 2>&1 &
opa_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$opa_port/health" >/dev/null && break
  sleep 0.1
done
export ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64) LOG_LEVEL=WARN
"$bin" generate --count "$n" --seed 1 > "$tmp/in.jsonl"

# Keeps the last successful scrape of the run's /metrics (the run serves it until it exits).
scrape() {
  while kill -0 "$1" 2>/dev/null; do
    curl -sf "http://127.0.0.1:$2/metrics" >"$tmp/m.new" 2>/dev/null && mv "$tmp/m.new" "$tmp/metrics"
    sleep 0.2
  done
}
quantiles() {
  python3 - "$tmp/metrics" <<'PY'
import re, sys
b = []
for line in open(sys.argv[1]):
    m = re.match(r'pipeline_opa_request_duration_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
    if m:
        b.append((float("inf") if m[1] == "+Inf" else float(m[1]), float(m[2])))
total = b[-1][1] if b else 0
def q(p):
    for le, c in b:
        if c >= p * total:
            return le * 1000
    return float("nan")
print(f"{q(0.5):.2f} {q(0.99):.2f} {int(total)}")
PY
}

printf '%-34s %10s %10s %9s %14s %14s\n' "path" "records/s" "elapsed s" "RSS MiB" "OPA p50 ms<=" "OPA p99 ms<="
for bs in 100 1000; do
  for mode in embedded opa; do
    all=()
    for r in $(seq 1 "$runs"); do
      rm -rf "$tmp/data"
      port=$(free_port)
      rm -f "$tmp/metrics"
      if [ "$mode" = opa ]; then
        env DATA_DIR="$tmp/data" BATCH_SIZE=$bs HTTP_PORT=$port OPA_URL="http://127.0.0.1:$opa_port" \
          /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" run --input "$tmp/in.jsonl" >"$tmp/out" &
      else
        env DATA_DIR="$tmp/data" BATCH_SIZE=$bs HTTP_PORT=$port \
          /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" run --input "$tmp/in.jsonl" >"$tmp/out" &
      fi
      pid=$!
      scrape "$pid" "$port" &
      scraper=$!
      wait "$pid"
      wait "$scraper" || true
      out=$(tail -1 "$tmp/out")
      rps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records_per_second"])' "$out")
      el=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["elapsed_seconds"])' "$out")
      lat="- -"
      if [ "$mode" = opa ] && [ -f "$tmp/metrics" ]; then
        read -r p50 p99 calls < <(quantiles)
        lat="$p50 $p99"
      fi
      all+=("$rps")
      printf '%-34s %10.0f %10s %9.1f %14s %14s\n' "$mode BATCH_SIZE=$bs #$r" "$rps" "$el" \
        "$(echo "$(cat "$tmp/rss") / 1024" | bc -l)" ${lat}
    done
    median=$(printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    printf '%-34s %10.0f\n' "  median of $runs" "$median"
  done
done
