#!/usr/bin/env bash
# Throwaway PostgreSQL 15 on 127.0.0.1 for tests and benchmarks.
#   scripts/pg-test-server.sh start DIR [PORT] [--durable]  -> prints the URL
#   scripts/pg-test-server.sh stop DIR
#   scripts/pg-test-server.sh crash DIR     (stop -m immediate: an outage, data kept)
#   scripts/pg-test-server.sh restart DIR   (start again on the same port after crash)
# Tests run with fsync off (speed); --durable keeps PostgreSQL's defaults (benchmarks).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
bindir=$(dirname "$(command -v initdb 2>/dev/null || echo /usr/lib/postgresql/15/bin/initdb)")
[ -x "$bindir/initdb" ] || bindir=/usr/lib/postgresql/15/bin
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${4:-}" = "--durable" ] && extra=""
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
    echo "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 $extra" > "$dir/options"
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -o "$(cat "$dir/options")" -w start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  crash)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  restart)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -o "$(cat "$dir/options")" -w start >/dev/null
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
