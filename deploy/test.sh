#!/usr/bin/env bash
# deploy/test.sh: THE COMMAND that runs the whole test suite (CI runs it via
# .ci/run): installs missing packages, builds, starts PostgreSQL + Redis + S3 (moto) + MLflow,
# then runs ctest serially and the fuzz targets for a bounded time each
# (tests/fuzz/run.sh). Fails when either does; never leaves expd running.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

prepare_servers_and_build

# Tests start their own expd processes; one left by deploy/run.sh must not
# interfere, and this script must not leave one behind.
if [ -f "$VAR/run/expd.pid" ]; then
  say "stopping the expd started by deploy/run.sh"
  bash deploy/expd.sh stop
fi
trap 'bash "$ROOT/deploy/expd.sh" stop >/dev/null 2>&1 || true' EXIT

say "running tests (ctest -j1)"
rc=0
ctest --test-dir build --output-on-failure -j1 || rc=$?
fuzz_rc=0
bash tests/fuzz/run.sh || fuzz_rc=$?

echo
if [ "$rc" -eq 0 ] && [ "$fuzz_rc" -eq 0 ]; then say "all tests passed"
else say "TESTS FAILED (ctest exit status $rc, fuzzing exit status $fuzz_rc)"; fi
note "PostgreSQL (127.0.0.1:$PG_PORT), Redis (${EXPD_REDIS_URL#redis://}), S3 ($S3_ADDR) and MLflow ($MLFLOW_TRACKING_URI) are still running; stop them with: bash deploy/stop.sh"
[ "$rc" -ne 0 ] || rc="$fuzz_rc"
exit "$rc"
