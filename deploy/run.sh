#!/usr/bin/env bash
# deploy/run.sh: THE ONE COMMAND to try expd: installs missing packages, builds,
# starts PostgreSQL + Redis + S3 (moto) + expd, loads config/experiments.example.yml,
# starts planner_policy_exp and shows a few assignments. Leaves everything running.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

prepare_servers_and_build
say "starting expd"
bash deploy/expd.sh start

PORT="${EXPD_PORT:-8080}"
export EXPD_SERVER="${EXPD_SERVER:-http://127.0.0.1:$PORT}"
EXPCTL="$ROOT/build/expctl"
CONFIG="config/experiments.example.yml"
[ -x "$EXPCTL" ] || die "$EXPCTL not found; the build did not produce expctl"
[ -f "$CONFIG" ] || die "$CONFIG not found"

say "expctl apply -f $CONFIG"
"$EXPCTL" apply -f "$CONFIG" || die "expctl apply failed (expd log: var/log/expd.log)"

say "expctl start planner_policy_exp"
if ! out="$("$EXPCTL" start planner_policy_exp 2>&1)"; then
  # A second run finds the experiment already running: that is fine.
  if grep -qi 'already' <<<"$out"; then
    note "$out"
  else
    printf '%s\n' "$out" >&2
    die "expctl start planner_policy_exp failed (expd log: var/log/expd.log)"
  fi
else
  [ -z "$out" ] || printf '%s\n' "$out"
fi

say "expctl get experiments"
"$EXPCTL" get experiments || die "expctl get experiments failed"

say "a few assignments (unit type user, app_version 1.2.3)"
# Buckets (docs/assignment.md): 4856, 350, 7908, 9724, 6043: both variants show.
for unit in user-1 user-2 user-11 user-12 user-123; do
  printf '%-9s ' "$unit"
  "$EXPCTL" assign --unit-type user --unit-id "$unit" --context '{"app_version":"1.2.3"}' \
    || die "expctl assign for $unit failed (expd log: var/log/expd.log)"
done

cat <<MSG

== expd is running on $EXPD_SERVER (PostgreSQL 127.0.0.1:$PG_PORT, Redis ${EXPD_REDIS_URL#redis://}, S3 $S3_ADDR)
   try:   source var/env.sh && build/expctl get experiments
   logs:  var/log/expd.log  var/log/postgres.log  var/log/redis.log  var/log/moto.log
   tests: bash deploy/test.sh
   stop:  bash deploy/stop.sh
MSG
