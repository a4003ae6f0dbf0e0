#!/usr/bin/env bash
# Throwaway S3-compatible server (moto) on 127.0.0.1 for tests and benchmarks.
#   scripts/s3-test-server.sh start DIR [PORT]  -> prints the endpoint URL
#   scripts/s3-test-server.sh stop DIR
# Needs the .venv-test virtualenv from scripts/install-test-deps.sh. moto keeps objects in
# memory: they are lost when it stops. Any access key and secret are accepted; buckets must
# be created by the caller (the tests send a CreateBucket request).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
root="$(cd "$(dirname "$0")/.." && pwd)"
moto="$root/.venv-test/bin/moto_server"
py="$root/.venv-test/bin/python"

stop() {
  if [ -f "$dir/moto.pid" ]; then
    pid=$(cat "$dir/moto.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/moto.pid"
  fi
}

case "$cmd" in
  start)
    [ -x "$moto" ] || { echo "moto_server missing: run scripts/install-test-deps.sh" >&2; exit 1; }
    port=${3:-$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    "$moto" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 </dev/null &
    echo $! >"$dir/moto.pid"
    ready=false
    for _ in $(seq 1 150); do
      if "$py" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
        ready=true; break
      fi
      kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null || break
      sleep 0.2
    done
    if [ "$ready" != true ]; then
      echo "moto_server did not start on 127.0.0.1:$port; its log:" >&2
      cat "$dir/moto.log" >&2 || true
      stop
      exit 1
    fi
    echo "http://127.0.0.1:$port"
    ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
