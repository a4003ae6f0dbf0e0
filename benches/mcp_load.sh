#!/usr/bin/env bash
# The MCP governance server under load (issue 14 §2): a release `pipeline mcp --http` on
# PostgreSQL over a decision log of RECORDS rows (made by the pipeline itself, so the hash
# chain is real), 50 concurrent sessions of the official MCP Python SDK x 200 calls
# (benches/mcp_load.py), split over PROCS client processes. Prints the client-side p50/p99
# per tool (all processes' samples together) and the server-side ones from
# mcp_audit.duration_ms.
#   [PROCS=1] [CLIENTS=50] [CALLS=200] [PIPELINE_BIN=path] bash benches/mcp_load.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
procs=${PROCS:-1}
clients=${CLIENTS:-50}
calls=${CALLS:-200}
python=${PYTHON:-$PWD/.venv-test/bin/python}
tmp=$(mktemp -d /tmp/pfm-bench-mcp.XXXXXX); chmod 755 "$tmp"
mcp_pid=
cleanup() {
  [ -n "$mcp_pid" ] && kill "$mcp_pid" 2>/dev/null
  bash scripts/pg-test-server.sh stop "$tmp/pg"
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
export DATABASE_URL=$(bash scripts/pg-test-server.sh start "$tmp/pg")
export ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64) LOG_LEVEL=WARN HTTP_PORT=0 DATA_DIR="$tmp/data"
"$bin" migrate
echo "building the decision log: $n generated records through the pipeline"
BATCH_SIZE=1000 "$bin" run --count "$n" | tail -1
psql -qAt "$DATABASE_URL" -c "SELECT transaction_id FROM decision_log ORDER BY random() LIMIT 20000" >"$tmp/txns"
psql -qAt "$DATABASE_URL" -c "SELECT DISTINCT account_id FROM decision_log" >"$tmp/accounts"
echo "decision_log rows: $(psql -qAt "$DATABASE_URL" -c 'SELECT count(*) FROM decision_log'), accounts: $(wc -l <"$tmp/accounts")"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token-$(python3 -c "import secrets; print(secrets.token_hex(12))")
# One token for every session: the per-token rate limit is raised out of the way.
MCP_PORT=$port MCP_TOKENS=$token MCP_RATE_LIMIT=100000 MCP_RATE_BURST=100000 \
  "$bin" mcp --http >"$tmp/mcp.log" 2>&1 &
mcp_pid=$!
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
# The server verifies the whole chain once at start-up, in the background: let it finish
# so that the load measures steady state.
sleep "${WARMUP_SECONDS:-10}"
per=$(( clients / procs ))
pids=()
for p in $(seq 1 "$procs"); do
  MCP_LOAD_SAMPLES=1 "$python" benches/mcp_load.py "http://127.0.0.1:$port/mcp" "$token" \
    "$per" "$calls" "$tmp/txns" "$tmp/accounts" "$p" >"$tmp/load.$p.json" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$python" - "$tmp"/load.*.json <<'PY'
import json, sys
lat, errors, calls, secs = {}, 0, 0, 0.0
for f in sys.argv[1:]:
    r = json.load(open(f))
    errors += r["errors"]; calls += r["calls"]; secs = max(secs, r["seconds"])
    for k, v in r["samples_ms"].items():
        lat.setdefault(k, []).extend(v)
def pct(xs, p):
    xs = sorted(xs); return round(xs[min(len(xs) - 1, int(len(xs) * p))], 1)
print(f"client processes: {len(sys.argv) - 1}, calls: {calls}, errors: {errors}, wall: {secs} s, {calls / secs:.0f} calls/s")
for k, v in sorted(lat.items()):
    print(f"client {k:18} n={len(v):6} p50={pct(v, .5):7} ms p99={pct(v, .99):7} ms")
PY
psql -qAt "$DATABASE_URL" -F ' ' -c "
  SELECT 'server ' || rpad(tool, 18), 'n=' || count(*), 'errors=' || count(*) FILTER (WHERE outcome <> 'ok'),
         'p50=' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)::numeric, 1) || ' ms',
         'p99=' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)::numeric, 1) || ' ms'
  FROM mcp_audit GROUP BY tool ORDER BY tool"
