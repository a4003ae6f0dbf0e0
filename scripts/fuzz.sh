#!/usr/bin/env bash
# Fuzzes decode, validate and scrub with cargo-fuzz (libFuzzer, nightly), each for a set
# time, then merges into the committed corpus (fuzz/corpus/<target>/) only the new inputs
# that add coverage (libFuzzer -merge=1), so the named seeds stay and the corpus stays small.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, all targets)
#
#   FUZZ_CMIN=1       afterwards, rebuild each corpus as its named seeds (seed-*) plus the
#                     fewest other files that cover the same edges (cargo fuzz cmin, but
#                     keeping the hand-written seeds and their names).
#   FUZZ_SANITIZER    passed to cargo fuzz -s (default none: the code under test is safe
#                     Rust, and AddressSanitizer halves the executions; use address to
#                     check the unsafe code in dependencies).
#
# Prints per target the seconds run, executions, corpus size before/after and crashes.
# Crash inputs land in fuzz/artifacts/<target>/; reproduce one with
#   cargo +nightly fuzz run --target-dir target/fuzz <target> fuzz/artifacts/<target>/<file>
# A fixed crash belongs in fuzz/corpus/<target>/ so tests/it/fuzz_corpus_replay.rs keeps it
# fixed on stable. Exits 1 if any target crashed. See docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode validate scrub)
fi
case "$secs" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

# One target tree under the repository's target/ (the fuzz crate has its own workspace).
fuzz=(cargo +nightly fuzz)
opts=(--target-dir target/fuzz -s "${FUZZ_SANITIZER:-none}")
logs=target/fuzz/logs
mkdir -p "$logs"
"${fuzz[@]}" build "${opts[@]}"

count_files() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l | tr -d ' '; }

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  artifacts="fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  before=$(count_files "$corpus")
  crashes_before=$(count_files "$artifacts")
  dict=()
  if [ -f "fuzz/dict/$t.dict" ]; then
    dict=("-dict=fuzz/dict/$t.dict")
  fi
  log="$logs/$t.log"
  echo "== $t: ${secs}s, corpus $before files"
  start=$(date +%s)
  # New inputs go to a scratch directory (the first one), the committed corpus is read.
  new="target/fuzz/new/$t"
  rm -rf "$new"
  mkdir -p "$new"
  "${fuzz[@]}" run "${opts[@]}" "$t" "$new" "$corpus" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]+"${dict[@]}"}" >"$log" 2>&1 || status=1
  ran=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(count_files "$new")
  # Keep only the new inputs that add coverage over the committed corpus.
  "${fuzz[@]}" run "${opts[@]}" "$t" "$corpus" "$new" -- -merge=1 -use_counters=0 \
    -timeout=10 >"$logs/$t.merge.log" 2>&1 || status=1
  if [ "${FUZZ_CMIN:-0}" = 1 ]; then
    fresh="target/fuzz/cmin/$t"
    rm -rf "$fresh"
    mkdir -p "$fresh"
    find "$corpus" -maxdepth 1 -type f -name 'seed-*' -exec cp {} "$fresh/" \;
    "${fuzz[@]}" run "${opts[@]}" "$t" "$fresh" "$corpus" -- -merge=1 -use_counters=0 \
      -timeout=10 >"$logs/$t.cmin.log" 2>&1 || status=1
    find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -delete
    find "$fresh" -maxdepth 1 -type f ! -name 'seed-*' -exec cp {} "$corpus/" \;
  fi
  after=$(count_files "$corpus")
  crashes=$(( $(count_files "$artifacts") - crashes_before ))
  line="$t: ${ran}s, ${execs:-?} execs, $found new inputs, corpus $before -> $after files, crashes $crashes"
  echo "   $line"
  if [ "$crashes" -gt 0 ]; then
    status=1
    grep -m 1 -A 3 'panicked at\|ERROR: libFuzzer\|ERROR: AddressSanitizer' "$log" || true
  fi
  summary+=("$line")
done

echo "== summary (logs in $logs)"
printf '   %s\n' "${summary[@]}"
exit $status
