#!/usr/bin/env bash
# Throwaway Kafka-protocol broker (tansu, ../shared/TESTING.md) on 127.0.0.1 for tests and
# benchmarks.
#   scripts/kafka-test-server.sh start DIR [PORT [STORAGE [ADVERTISED_PORT]]]  -> prints host:port
# ADVERTISED_PORT: the port clients are told to use (a fault-injecting proxy in front).
#   scripts/kafka-test-server.sh stop DIR
#   scripts/kafka-test-server.sh topic BOOTSTRAP NAME PARTITIONS
# STORAGE defaults to memory://tansu/ (lost when the broker stops). Needs
# scripts/install-kafka.sh first; TANSU overrides the binary.
#
# Known tansu 0.6 bugs (memory engine): a fetch that starts mid-batch skips the rest of the
# batch, and the latest-offset answer is the last batch's base offset + 1. Test producers
# therefore send one record per batch (KAFKA_PRODUCER_PROPERTIES=batch.num.messages=1).
set -euo pipefail
cmd=${1:?start|stop|topic}
root="$(cd "$(dirname "$0")/.." && pwd)"
tansu="${TANSU:-/opt/tansu/bin/tansu}"
py=python3

stop() {
  local dir=$1
  if [ -f "$dir/tansu.pid" ]; then
    pid=$(cat "$dir/tansu.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/tansu.pid"
  fi
}

case "$cmd" in
  start)
    dir=${2:?DIR}
    [ -x "$tansu" ] || { echo "tansu missing at $tansu: run scripts/install-kafka.sh" >&2; exit 1; }
    port=${3:-$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    storage=${4:-memory://tansu/}
    advertised=${5:-$port}
    mkdir -p "$dir"
    RUST_LOG="${TANSU_LOG:-warn}" "$tansu" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$advertised" \
      --storage-engine "$storage" >>"$dir/tansu.log" 2>&1 </dev/null &
    echo $! >"$dir/tansu.pid"
    ready=false
    for _ in $(seq 1 150); do
      if "$py" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
        ready=true; break
      fi
      kill -0 "$(cat "$dir/tansu.pid")" 2>/dev/null || break
      sleep 0.2
    done
    if [ "$ready" != true ]; then
      echo "tansu did not start on 127.0.0.1:$port; its log:" >&2
      cat "$dir/tansu.log" >&2 || true
      stop "$dir"
      exit 1
    fi
    echo "127.0.0.1:$port"
    ;;
  stop) stop "${2:?DIR}" ;;
  topic)
    bootstrap=${2:?BOOTSTRAP}; name=${3:?NAME}; partitions=${4:?PARTITIONS}
    "$tansu" topic create "$name" --broker "tcp://$bootstrap" --partitions "$partitions" >/dev/null
    ;;
  *) echo "usage: $0 start|stop DIR [PORT [STORAGE [ADVERTISED_PORT]]] | topic BOOTSTRAP NAME PARTITIONS" >&2; exit 2 ;;
esac
