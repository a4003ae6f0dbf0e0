#!/usr/bin/env bash
# The detectors on the independent labelled traffic (issue 19): generate, run the pipeline on
# the embedded default (SQLite) with BATCH_SIZE=1000, score. Prints the score as JSON.
#   bash eval/typologies/run.sh [--records N] [--seed S]
# PIPELINE=path/to/pipeline overrides the binary (default: a release build of this tree).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${PIPELINE:-target/release/pipeline}
if [ -z "${PIPELINE:-}" ]; then
  cargo build --release --bin pipeline >&2
fi
bin=$(realpath "$bin")
work=$(mktemp -d /tmp/pfm-typologies.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 eval/typologies/generate.py "$@" >"$work/traffic.jsonl"
(cd "$work" && DATA_DIR="$work/data" BATCH_SIZE=1000 HTTP_PORT=0 LOG_LEVEL=WARN \
  "$bin" run --input "$work/traffic.jsonl" >"$work/summary.json")
python3 eval/typologies/score.py "$work/traffic.jsonl" "$work/data/pipeline.db"
