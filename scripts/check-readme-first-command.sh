#!/usr/bin/env bash
# Runs the README's first command exactly as written, in a clean clone of the repository,
# and checks the JSON summary line it prints (issue 18, item 1). Called by .ci/run.
#
#   scripts/check-readme-first-command.sh              # clone HEAD, run, check
#   scripts/check-readme-first-command.sh --print      # only print the extracted command
#   scripts/check-readme-first-command.sh --clone DIR  # only clone HEAD into DIR
#   scripts/check-readme-first-command.sh --in DIR     # run and check in that clone
#
# The last two let CI compile the clone's release binary in the background, at the lowest
# CPU priority, while the tests run; `--in` refuses a clone with local changes or another
# commit than HEAD, so what runs is still a clean clone of what is being tested.
#
# The command is the indented code line between the markers
#   <!-- readme-first-command:begin ... -->   and   <!-- readme-first-command:end -->
# in README.md. Nothing is rewritten: it runs through `bash -c` in the clone's root. CI
# exports CARGO_TARGET_DIR so that the clone reuses the compiled dependencies (the command
# text itself stays as the README states it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
README="$ROOT/README.md"

extract() {
  awk '
    /<!-- readme-first-command:begin/ { inside = 1; next }
    /<!-- readme-first-command:end/   { inside = 0; next }
    inside && /^    [^ ]/ { sub(/^    /, ""); print }
  ' "$README"
}

cmd="$(extract)"
lines="$(printf '%s\n' "$cmd" | grep -c . || true)"
if [ "$lines" -ne 1 ]; then
  echo "README.md: expected exactly one command line between the readme-first-command markers, found $lines" >&2
  exit 1
fi
if [ "${1:-}" = "--print" ]; then
  printf '%s\n' "$cmd"
  exit 0
fi

WORK="$(mktemp -d /tmp/pfm-readme.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
case "${1:-}" in
  --clone)
    [ -n "${2:-}" ] && [ ! -e "$2" ] || { echo "--clone needs a path that does not exist yet" >&2; exit 2; }
    git clone --quiet "$ROOT" "$2"
    exit 0
    ;;
  --in)
    [ -d "${2:-}/.git" ] || { echo "--in needs a clone made by --clone" >&2; exit 2; }
    if [ -n "$(git -C "$2" status --porcelain)" ]; then
      echo "$2 is not a clean clone:" >&2
      git -C "$2" status --short >&2
      exit 1
    fi
    if [ "$(git -C "$2" rev-parse HEAD)" != "$(git -C "$ROOT" rev-parse HEAD)" ]; then
      echo "$2 is at $(git -C "$2" rev-parse --short HEAD), not at HEAD ($(git -C "$ROOT" rev-parse --short HEAD))" >&2
      exit 1
    fi
    ln -s "$(cd "$2" && pwd)" "$WORK/repo"
    ;;
  "") git clone --quiet "$ROOT" "$WORK/repo" ;;
  *) echo "unknown option $1 (expected --print, --clone DIR or --in DIR)" >&2; exit 2 ;;
esac
echo "README first command (in a clean clone of $(git -C "$WORK/repo" rev-parse --short HEAD)):"
echo "  $cmd"
echo "CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-unset, so the clone builds into its own target/}"

start=$SECONDS
status=0
(cd "$WORK/repo" && bash -c "$cmd") >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
echo "exit status $status after $((SECONDS - start)) s"
if [ "$status" -ne 0 ]; then
  echo "--- stderr (tail)"
  tail -n 40 "$WORK/stderr"
  exit 1
fi

# The summary is the last stdout line that is a JSON object with records_in.
python3 - "$WORK/stdout" "$WORK/repo/data" <<'PY'
import glob, json, os, sys

out, data = sys.argv[1], sys.argv[2]
summary = None
for line in open(out, encoding="utf-8"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        obj = json.loads(line)
    except ValueError:
        continue
    if "records_in" in obj:
        summary = obj
if summary is None:
    sys.exit("no JSON summary line with records_in on stdout")
print("summary:", json.dumps(summary, sort_keys=True))
problems = []
if summary.get("records_in") != 100000:
    problems.append(f"records_in is {summary.get('records_in')}, expected 100000")
if summary.get("dead_letters") != 0:
    problems.append(f"dead_letters is {summary.get('dead_letters')}, expected 0")
# A clean clone has an empty ./data: every record is stored once (no replays).
stored = summary.get("transactions", 0) + summary.get("quarantined", 0)
if stored != 100000 or summary.get("replays") != 0:
    problems.append(f"transactions + quarantined = {stored} with {summary.get('replays')} replays, expected 100000 and 0")
if summary.get("stopped_by_signal") is not False:
    problems.append("stopped_by_signal must be false for a bounded run")
if not os.path.isfile(os.path.join(data, "pipeline.db")):
    problems.append("no data/pipeline.db in the clone")
parquet = glob.glob(os.path.join(data, "lakehouse", "table=*", "date=*", "*.parquet"))
if not parquet:
    problems.append("no Parquet file under data/lakehouse/table=*/date=*/")
for p in problems:
    print("ERROR", p)
if problems:
    sys.exit(1)
print(f"README first command: OK ({len(parquet)} Parquet files)")
PY
