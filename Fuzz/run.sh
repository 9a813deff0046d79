#!/bin/sh
# Runs every fuzz target for FUZZ_SECONDS (default 60) each, one after another, from the
# seed corpora kept in Fuzz/Corpus (copied, so that a run never changes the repository).
# A crash, hang, leak or broken invariant stops the run; libFuzzer writes the input to
# Fuzz/findings/ and this script exits 1.
set -eu
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-protocol policy import index}"
mkdir -p findings
for target in $targets; do
  # The differential target's inputs are a policy and a log of writes: a few KB say plenty,
  # and every answer is compared after them.
  bin=.build/release; max_len=65536
  case "$target" in
    protocol) exe=FuzzProtocol ;;
    policy) exe=FuzzPolicy ;;
    import) exe=FuzzImport ;;
    index) exe=FuzzIndex; bin=.build/small-chunks/release; max_len=1024 ;;
    *) echo "unknown fuzz target: $target (protocol, policy, import, index)" >&2; exit 2 ;;
  esac
  work=".build/corpus/$target"
  mkdir -p "$work"
  cp Corpus/"$target"/* "$work"/
  echo "fuzzing $target for ${seconds}s"
  # No Swift backtracer (it holds a crashing input up for its own report; libFuzzer prints
  # one), and no allocation stacks: they cost most of the differential target's time.
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}" \
  "$bin/$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -artifact_prefix="findings/$target-" -print_final_stats=1 "$work" 2>"findings/$target.log" || {
      tail -40 "findings/$target.log" >&2; echo "fuzz target $target found a problem (findings/)" >&2; exit 1; }
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "findings/$target.log" || true
done
