#!/usr/bin/env bash
# tests/fuzz/run.sh [TARGET...]: builds the libFuzzer targets with clang++ in build-fuzz/
# (a build of its own, next to the main g++ one) and runs each for a bounded time on a
# copy of its committed corpus, tests/fuzz/corpus/TARGET/, which libFuzzer replays first.
# Fails when any target finds a crash, a sanitizer report or a broken invariant, and
# says which, with the saved input under var/fuzz/. deploy/test.sh runs it after ctest;
# docs/testing.md says how to turn a crash into a regression test.
#
#   EXPD_FUZZ_SECONDS  seconds per target (default 50: five minutes for the six)
#   EXPD_FUZZ_RSS_MB   memory limit per target, MiB (default 2048)
#   EXPD_FUZZ_JOBS     parallel compile jobs (default: all cores)
#   EXPD_FUZZ_BUILD    build folder (default build-fuzz)
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/../../deploy/lib.sh"
cd "$ROOT"

ALL_TARGETS=(http_request json_parse condition event spool_recovery protobuf)
seconds="${EXPD_FUZZ_SECONDS:-50}"
rss_mb="${EXPD_FUZZ_RSS_MB:-2048}"
jobs="${EXPD_FUZZ_JOBS:-$(nproc)}"
build="${EXPD_FUZZ_BUILD:-$ROOT/build-fuzz}"
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${ALL_TARGETS[@]}")

need_cmd clang++
need_cmd cmake

artifacts="$VAR/fuzz"
mkdir -p "$artifacts"

say "building the fuzz targets ($build, clang++)"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S tests/fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++ >"$artifacts/build.log" 2>&1 \
    || { tail_log "$artifacts/build.log"; die "configuring tests/fuzz failed (run deploy/install-deps.sh)"; }
fi
cmake --build "$build" -j"$jobs" >"$artifacts/build.log" 2>&1 \
  || { tail_log "$artifacts/build.log"; die "building the fuzz targets failed"; }

# Corpus copies and the spool target's segments live on tmpfs where there is one (every
# run preallocates and fsyncs a segment); the committed corpus never grows.
scratch_base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_base=/dev/shm
work="$(mktemp -d "$scratch_base/expd-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz_$t"
  [ -x "$bin" ] || die "no fuzz target '$t' (targets: ${ALL_TARGETS[*]})"
  cp -r "tests/fuzz/corpus/$t" "$work/$t"
  log="$artifacts/$t.log"
  say "fuzzing $t for ${seconds}s"
  rc=0
  # libFuzzer stops itself after max_total_time; timeout only guards against a hang
  # that -timeout (per input) would not catch.
  timeout --kill-after=30 "$((seconds + 120))" "$bin" \
    -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=30 \
    -artifact_prefix="$artifacts/$t-" -print_final_stats=1 "$work/$t" >"$log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    note "no crash in $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') inputs" \
      "($(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2) edges covered)"
  else
    failed+=("$t")
    warn "fuzz target $t failed (exit status $rc); log: $log"
    grep -E 'invariant broken|ERROR: |SUMMARY: |runtime error|Test unit written to' "$log" >&2 || tail_log "$log"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  say "FUZZING FAILED: ${failed[*]} (inputs and logs in var/fuzz/; see docs/testing.md)"
  exit 1
fi
say "fuzzing passed: ${targets[*]}"
