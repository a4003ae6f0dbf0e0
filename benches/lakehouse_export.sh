#!/usr/bin/env bash
# Lakehouse export throughput and file sizes on 200,000 generated records, to the local
# folder and to S3 (moto on 127.0.0.1). The records are committed once with the export off
# (embedded SQLite); each target then starts from a copy of that database and exports
# everything in the final flush of `pipeline run --input /dev/null`, so only the export is
# measured: reading the committed rows back, Arrow + Parquet (zstd) encoding, upload.
#   bash benches/lakehouse_export.sh [RECORDS]
# Needs scripts/install-test-deps.sh (moto and boto3 in .venv-test).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
tmp=$(mktemp -d /tmp/pfm-bench-lake.XXXXXX)
trap 'bash scripts/s3-test-server.sh stop "$tmp/s3"; rm -rf "$tmp"' EXIT
cargo build --release --bin pipeline -q
bin=$(realpath "${CARGO_TARGET_DIR:-target}")/release/pipeline
py=$PWD/.venv-test/bin/python
export LOG_LEVEL=INFO HTTP_PORT=0 BATCH_SIZE=1000
"$bin" generate --count "$n" --seed 1 > "$tmp/in.jsonl"
DATA_DIR="$tmp/base" "$bin" run --input "$tmp/in.jsonl" > "$tmp/base.log"
s3=$(bash scripts/s3-test-server.sh start "$tmp/s3")
bucket=pfm-bench
"$py" -c 'import socket,sys
h,p=sys.argv[1][7:].split(":"); s=socket.create_connection((h,int(p)))
s.sendall(f"PUT /{sys.argv[2]} HTTP/1.1\r\nHost: {h}:{p}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
assert b" 200 " in s.recv(4096).split(b"\r\n")[0] + b" ", "CreateBucket failed"' "$s3" "$bucket"

report() { # TARGET LOG LOCATION
  "$py" - "$@" <<'EOF'
import json, os, sys
from datetime import datetime
target, log, where = sys.argv[1:4]
lines = [json.loads(l) for l in open(log) if l.startswith("{")]
ranges = [l for l in lines if l.get("message") == "lakehouse range exported"]
start = next(l for l in lines if l.get("message") == "lakehouse export started")
ts = lambda l: datetime.fromisoformat(l["timestamp"].replace("Z", "+00:00"))
wall = (ts(ranges[-1]) - ts(start)).total_seconds()
rows = sum(r["rows"] for r in ranges)
decisions = sum(r["end_seq"] - r["start_seq"] for r in ranges)
size = sum(r["bytes"] for r in ranges)
ms = lambda k: sum(r[k] for r in ranges) / 1000
sizes = {}
if where.startswith("s3://"):
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench",
                      config=Config(s3={"addressing_style": "path"}))
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=where[5:]):
        for o in page.get("Contents", []):
            sizes.setdefault(o["Key"].split("/")[0][6:], []).append(o["Size"])
else:
    for dirpath, _, files in os.walk(where):
        for f in files:
            if f.endswith(".parquet"):
                table = os.path.relpath(dirpath, where).split("/")[0][6:]
                sizes.setdefault(table, []).append(os.path.getsize(os.path.join(dirpath, f)))
mb = size / 1e6
print(f"{target}: {rows} rows (+{decisions} decision-log rows) in {len(ranges)} range(s), "
      f"{mb:.1f} MB in {sum(len(v) for v in sizes.values())} files, {wall:.2f} s")
print(f"  throughput: {rows / wall:,.0f} rows/s, {(rows + decisions) / wall:,.0f} rows/s incl. decision log, {mb / wall:.1f} MB/s")
print(f"  phases: read {ms('read_ms'):.2f} s, encode {ms('encode_ms'):.2f} s, upload {ms('upload_ms'):.2f} s "
      f"(upload alone {mb / max(ms('upload_ms'), 1e-3):.1f} MB/s)")
for table, v in sorted(sizes.items()):
    print(f"  {table:13s} {len(v):3d} files, {min(v)/1e6:6.2f} / {sum(v)/len(v)/1e6:6.2f} / {max(v)/1e6:6.2f} MB (min/avg/max), {sum(v)/1e6:7.1f} MB")
EOF
}

cp -r "$tmp/base" "$tmp/local"
DATA_DIR="$tmp/local" ENABLE_S3_LAKEHOUSE_EXPORT=true "$bin" run --input /dev/null > "$tmp/local.log"
report "local folder" "$tmp/local.log" "$tmp/local/lakehouse"

cp -r "$tmp/base" "$tmp/s3data"
DATA_DIR="$tmp/s3data" ENABLE_S3_LAKEHOUSE_EXPORT=true S3_ENDPOINT="$s3" S3_BUCKET="$bucket" \
  MINIO_ROOT_USER=bench MINIO_ROOT_PASSWORD=bench "$bin" run --input /dev/null > "$tmp/s3.log"
S3_ENDPOINT="$s3" report "moto S3" "$tmp/s3.log" "s3://$bucket"
