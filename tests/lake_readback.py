"""Independent read-back of the lakehouse with pyarrow (not the writer's library).

usage: lake_readback.py LAKE [SECRETS_FILE]
LAKE is a local folder, or s3://BUCKET[/PREFIX]: then every object is downloaded with boto3
(endpoint from S3_ENDPOINT, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) into a
temporary folder and read from there, so no file is read through the writer's client.

Prints a JSON object:
- rows, files: rows and Parquet files per table;
- types: the Arrow type of key columns per table;
- distinct: distinct keys per table (transaction_id; seq for the decision log), to detect
  duplicated rows across files;
- unreadable: files that are not complete Parquet files (a partial upload would be one);
- leaks, leak_examples: how many of the secrets (one per line in SECRETS_FILE) appear in
  any string value.
"""
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def download(url: str, dest: Path) -> None:
    import boto3
    from botocore.config import Config

    bucket, _, prefix = url[len("s3://"):].partition("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = dest / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))


def trie_pattern(words: list) -> str:
    """One regex that matches any of the words, shaped as a trie so that the scan costs
    about the same for 10 or 100,000 words."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(c) + build(sub) for c, sub in sorted(node.items()) if c]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return build(trie)


def find_secrets(t: pa.Table, secrets: list) -> set:
    """The secrets that occur in any string value of the table."""
    pattern = re.compile(trie_pattern(secrets))
    found = set()
    for col in t.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            text = "\n".join(v for v in col.to_pylist() if v)
            found.update(pattern.findall(text))
    return found


def key_column(table: str) -> str:
    return "seq" if table == "decision_log" else "transaction_id"


def read(root: Path, secrets: list) -> dict:
    out = {"rows": {}, "types": {}, "files": {}, "distinct": {}, "unreadable": [],
           "leaks": 0, "leak_examples": []}
    for table_dir in sorted(root.glob("table=*")):
        table = table_dir.name.split("=", 1)[1]
        good = []
        for f in sorted(table_dir.rglob("*.parquet")):
            try:
                pq.ParquetFile(f).metadata  # footer present and valid
                good.append(str(f))
            except Exception:  # noqa: BLE001 - any failure means a file readers cannot use
                out["unreadable"].append(str(f.relative_to(root)))
        out["files"][table] = len(good)
        if not good:
            out["rows"][table] = 0
            out["distinct"][table] = 0
            continue
        dataset = ds.dataset(good, format="parquet", partitioning="hive",
                             partition_base_dir=str(table_dir))
        t = dataset.to_table()
        out["rows"][table] = t.num_rows
        key = key_column(table)
        out["distinct"][table] = len(set(t.column(key).to_pylist())) if key in t.schema.names else None
        out["types"][table] = {f.name: str(f.type) for f in t.schema
                               if f.name in ("amount", "ts", "decided_at", "date", "seq", "risk_score")}
        if secrets:
            found = find_secrets(t, secrets)
            out["leaks"] += len(found)
            out["leak_examples"] += sorted(found)[:3]
    return out


def main() -> None:
    lake = sys.argv[1]
    secrets = []
    if len(sys.argv) > 2:
        secrets = [s for s in Path(sys.argv[2]).read_text().splitlines() if s]
    if lake.startswith("s3://"):
        with tempfile.TemporaryDirectory() as tmp:
            download(lake, Path(tmp))
            out = read(Path(tmp), secrets)
    else:
        out = read(Path(lake), secrets)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
