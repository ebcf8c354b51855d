#!/usr/bin/env bash
# Event ingestion against its ceiling, in one run (docs/benchmarks.md):
#   (a) psql's raw COPY of N events into exp.events (the same table, same indexes);
#   (b) expd end to end over HTTP, batches of 100 events from wrk, archive on:
#       events stored per second, counted until the loader has caught up;
#   (c) expd with one event per request (wrk, 128 keep-alive connections).
# Prints each figure and the ratio (b)/(a). Needs: deploy/build.sh, deploy/servers.sh start.
# (a) and (b) alternate for `rounds` rounds and the medians are reported, as noise on
# this shared machine moves either by a third from one minute to the next.
# Usage: bench/events_vs_copy.sh [seconds] [copy_rows] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
source var/env.sh
duration=${1:-20}
copy_rows=${2:-500000}
rounds=${3:-3}
port=18092
work=$(mktemp -d /tmp/expd-events-bench.XXXXXX)
expd_pid=""
cleanup() {
  [ -n "$expd_pid" ] && kill -TERM "$expd_pid" 2>/dev/null && wait "$expd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
base="${EXPD_TEST_PG_URL%/*}"

fresh_db() {
  psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
}
start_expd() { # db, extra flags...
  local db=$1
  shift
  # Each round starts from nothing: a spool outlives its database only in production.
  rm -rf "$work/spool-$db" "$work/archive-$db"
  build/expd --pg="$base/$db" --listen=127.0.0.1:$port --log-level=warn \
    --spool-dir="$work/spool-$db" --archive="$work/archive-$db" "$@" 2>"$work/expd-$db.log" &
  expd_pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return; sleep 0.1; done
  cat "$work/expd-$db.log" >&2
  exit 1
}
stop_expd() {
  kill -TERM "$expd_pid" && wait "$expd_pid" || true
  expd_pid=""
}
prepare() { # experiment and event types; prints "experiment_id variant_id"
  export EXPD_SERVER=http://127.0.0.1:$port
  build/expctl apply -f config/event_types.example.yml >/dev/null
  build/expctl apply -f bench/experiments.yml >/dev/null
  build/expctl -o json get experiments | /usr/bin/python3 -c '
import json, sys
e = json.load(sys.stdin)["experiments"][0]
print(e["id"], e["variants"][0]["id"])'
}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---- (a) raw COPY ------------------------------------------------------------------
run_copy() {
fresh_db expd_bench_copy
start_expd expd_bench_copy --archive=off # only to migrate and create today's partition
read -r exp_id var_id < <(prepare)
stop_expd
copy_url="$base/expd_bench_copy"
psql "$copy_url" -qc "SELECT exp.ensure_event_partitions(current_date - 1, current_date + 1)" >/dev/null
# The rows expd itself would write for the events of (b).
psql "$copy_url" -qc "\copy (SELECT gen_random_uuid(), '$now'::timestamptz, now(), 'plan_generated',
  'user', 'user-' || i, ARRAY['$exp_id']::uuid[], ARRAY['$var_id']::uuid[],
  '{\"policy_version_id\":\"uuid-v1\"}'::jsonb, jsonb_build_object('latency_ms', i % 1000)
  FROM generate_series(1, $copy_rows) i) TO '$work/events.copy'"
psql "$copy_url" -qc "TRUNCATE exp.events"
copy_start=$(date +%s.%N)
psql "$copy_url" -qc "\copy exp.events (event_id, occurred_at, received_at, event_type, unit_type,
  unit_id, experiment_ids, variant_ids, context, metrics) FROM '$work/events.copy'"
copy_end=$(date +%s.%N)
copy_rate=$(awk -v n="$copy_rows" -v a="$copy_start" -v b="$copy_end" 'BEGIN { printf "%.0f", n / (b - a) }')
}

# ---- (b) expd, batches of 100, archive on --------------------------------------------
run_batches() {
fresh_db expd_bench_events
# The archive writes a chunk at least every second, so it works during the run.
start_expd expd_bench_events --archive-interval-ms=1000
read -r exp_id var_id < <(prepare)
cat >"$work/batch.lua" <<LUA
-- 100 events per request, each with its own client event_id. The body is built once;
-- each request puts its number into the event ids and unit ids with one gsub, so the load
-- generator, which shares the two cores with expd and PostgreSQL, stays cheap.
local template, n
init = function()
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format('{"event_id":"XXXXXXXX-0000-4000-8000-%012x","event_type":"plan_generated",'
      .. '"unit_type":"user","unit_id":"user-XXXXXXXX-%d","experiments":[{"experiment_id":"$exp_id",'
      .. '"variant_id":"$var_id"}],"context":{"policy_version_id":"uuid-v1"},'
      .. '"metrics":{"latency_ms":%d},"timestamp":"$now"}', i, i, i * 7 % 1000)
  end
  template = '{"events":[' .. table.concat(parts, ",") .. ']}'
  n = 0
end
request = function()
  n = n + 1
  local body = string.gsub(template, "XXXXXXXX", string.format("%08x", n))
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end
LUA
stored() { psql "$base/expd_bench_events" -Atc "SELECT count(*) FROM exp.events"; }
batch_start=$(date +%s.%N)
wrk -t1 -c8 -d"${duration}s" --latency -s "$work/batch.lua" "http://127.0.0.1:$port" >"$work/wrk-batch.txt"
# Sustained means stored and archived: the clock stops once the loader and the
# archiver have caught up.
accepted=$(awk '/requests in/ {print $1 * 100}' "$work/wrk-batch.txt")
lag() { curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^expd_(event_loader|archive)_lag_events/ {s += $2} END {print s + 0}'; }
while [ "$(lag)" != 0 ]; do sleep 0.1; done
batch_end=$(date +%s.%N)
now_stored=$(stored)
batch_rate=$(awk -v n="$now_stored" -v a="$batch_start" -v b="$batch_end" 'BEGIN { printf "%.0f", n / (b - a) }')
archived=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^expd_archive_events_total/ {print $2}')
stop_expd
}

: >"$work/rounds"
for round in $(seq "$rounds"); do
  run_copy
  run_batches
  echo "$round $copy_rate $batch_rate $now_stored $archived" >>"$work/rounds"
done
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# ---- (c) expd, one event per request ---------------------------------------------------
fresh_db expd_bench_single
start_expd expd_bench_single --archive-interval-ms=1000
read -r exp_id var_id < <(prepare)
cat >"$work/single.lua" <<LUA
-- 1,000 distinct requests made once and sent in turn (cheap for the load generator).
local pool, n = {}, 0
init = function()
  for i = 1, 1000 do
    pool[i] = wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, string.format(
      '{"event_type":"plan_generated","unit_type":"user","unit_id":"user-%d",'
      .. '"experiments":[{"experiment_id":"$exp_id","variant_id":"$var_id"}],'
      .. '"context":{"policy_version_id":"uuid-v1"},"metrics":{"latency_ms":%d},"timestamp":"$now"}',
      i, i % 1000))
  end
end
request = function()
  n = n % 1000 + 1
  return pool[n]
end
LUA
# Each request waits for the fdatasync of its event (~1-4 ms on this disk), so one
# connection makes at most a few hundred requests a second: 128 connections stand for
# the many clients that send single events (docs/benchmarks.md).
wrk -t1 -c128 -d"${duration}s" --latency -s "$work/single.lua" "http://127.0.0.1:$port" >"$work/wrk-single.txt"
single_rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk-single.txt")
single_p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-single.txt")
stop_expd

echo "machine: $(nproc) cores, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')"
grep -E 'Non-2xx|Socket errors' "$work/wrk-batch.txt" "$work/wrk-single.txt" || true
printf '%-6s %14s %22s %10s %10s %7s\n' round "(a) COPY/s" "(b) expd stored+arch/s" stored archived ratio
awk '{ printf "%-6s %14.0f %22.0f %10d %10d %7.3f\n", $1, $2, $3, $4, $5, $3 / $2 }' "$work/rounds"
echo "median ratio (b)/(a): $(awk '{print $3 / $2}' "$work/rounds" | median) (floor 0.60); median (a) $(awk '{print $2}' "$work/rounds" | median) rows/s, median (b) $(awk '{print $3}' "$work/rounds" | median) events/s"
echo "(c) expd single events: $single_rps requests/s, p99 $single_p99 (floor 20000/s)"
