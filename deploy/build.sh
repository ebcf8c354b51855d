#!/usr/bin/env bash
# deploy/build.sh: configures expd with CMake into build/ (RelWithDebInfo)
# and builds everything (servers, expctl, tests, benchmarks) in parallel.
# EXPD_BUILD_JOBS overrides the job count (default: nproc).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

need_cmd cmake
jobs="${EXPD_BUILD_JOBS:-$(nproc)}"

say "configuring (cmake, RelWithDebInfo) into build/"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  || die "cmake configure failed (see messages above)"

say "building with -j$jobs"
cmake --build "$ROOT/build" -j"$jobs" \
  || die "build failed (see compiler errors above)"
note "build finished: $ROOT/build"
