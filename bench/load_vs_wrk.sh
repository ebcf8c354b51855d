#!/usr/bin/env bash
# `expctl load --concurrency` against wrk on the same expd, with the same keep-alive
# connections, duration and request, in one run: is expctl load fast enough not to be
# the bottleneck? Prints both req/s and the ratio; see docs/benchmarks.md. Needs:
# deploy/build.sh, deploy/servers.sh start.
# Usage: bench/load_vs_wrk.sh [seconds] [connections] [rounds]
#   rounds: wrk and expctl load alternate this many times (default 5) and medians are
#   reported, so a burst of noise on a shared machine does not decide the ratio.
# EXPD_BENCH_PORT sets expd's port (default 18092).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${EXPD_TEST_PG_URL:-}" ] || source var/env.sh
duration=${1:-10}
connections=${2:-32}
rounds=${3:-5}
port=${EXPD_BENCH_PORT:-18092}
work=$(mktemp -d /tmp/expd-load-bench.XXXXXX)
db=expd_bench_load
bench_url="${EXPD_TEST_PG_URL%/*}/$db"
expd_pid=""
cleanup() {
  [ -n "$expd_pid" ] && kill -TERM "$expd_pid" 2>/dev/null && wait "$expd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
# Its own spool: a journal left in var/ by another node would be replayed here.
build/expd --pg="$bench_url" --listen=127.0.0.1:$port --log-level=warn \
  --spool-dir="$work/spool" --archive="$work/archive" 2>"$work/expd.log" &
expd_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
export EXPD_SERVER=http://127.0.0.1:$port
build/expctl apply -f bench/experiments.yml >/dev/null
build/expctl start planner_policy_exp >/dev/null

# The request of bench/http_vs_nginx.sh: 100k unit ids, cycled by wrk and drawn
# uniformly by expctl load; the warm-up pass assigns them all, so both then measure
# returning units.
cat >"$work/assign.lua" <<'LUA'
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"unit_type":"user","unit_id":"user-' .. (n % 100000 + 1) ..
    '","context":{"app_version":"1.2.3"},"requested_experiments":["planner_policy_exp"]}'
  return wrk.format(nil, "/v1/assign", nil, body)
end
LUA
# Each client's CPU seconds (user + system) go to $work/cpu, to show what a request
# costs the client itself.
cpu() { /usr/bin/time -f '%U %S' -o "$work/cpu" "$@"; }
cpu_seconds() { awk '{print $1 + $2}' "$work/cpu"; }
wrk_args=(-t1 -c"$connections" -d"${duration}s" --latency -s "$work/assign.lua" "$EXPD_SERVER")
run_load() {
  cpu build/expctl load --concurrency="$connections" --threads=1 --duration="${duration}s" --warmup=0s \
    --units=100000 --context='{"app_version":"1.2.3"}' --experiments=planner_policy_exp --json="$work/load.json" >/dev/null
}
wrk "${wrk_args[@]}" >/dev/null

rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
# wrk prints 99% latency as e.g. 812.00us or 1.61ms; normalise to microseconds.
p99_us() { awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
  print (u == "ms" ? v * 1000 : (u == "s" ? v * 1000000 : v)) }' <<<"$1"; }
json_field() { python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($1)" "$work/load.json"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

: >"$work/rounds"
for round in $(seq "$rounds"); do
  wrk_out=$(cpu wrk "${wrk_args[@]}")
  wrk_cpu=$(cpu_seconds)
  grep -E 'Non-2xx|Socket errors' <<<"$wrk_out" || true
  run_load
  load_cpu=$(cpu_seconds)
  errors=$(json_field 'r["errors"]["total"] + r["completed"] - r["succeeded"]')
  [ "$errors" = 0 ] || echo "expctl load: $errors errors or non-2xx in round $round"
  wrk_rps=$(rps "$wrk_out") load_rps=$(json_field 'r["throughput_rps"]')
  echo "$round $wrk_rps $(p99_us "$wrk_out") $load_rps $(json_field 'r["latency_us"]["p99"]')" \
    "$(awk -v c="$wrk_cpu" -v r="$wrk_rps" -v d="$duration" 'BEGIN { print c * 1e6 / (r * d) }')" \
    "$(awk -v c="$load_cpu" -v r="$load_rps" -v d="$duration" 'BEGIN { print c * 1e6 / (r * d) }')" >>"$work/rounds"
done

echo "${rounds} rounds x ${duration}s, ${connections} connections, 1 thread each   $(nproc) cores: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')"
printf '%-6s %10s %10s %10s %10s %7s %12s %12s\n' round wrk_rps wrk_p99 load_rps load_p99 ratio wrk_cpu/req load_cpu/req
awk '{ printf "%-6s %10.0f %8.0fus %10.0f %8.0fus %7.3f %10.2fus %10.2fus\n", $1, $2, $3, $4, $5, $4 / $2, $6, $7 }' "$work/rounds"
col_median() { awk "{print \$$1}" "$work/rounds" | median; }
ratio=$(awk '{print $4 / $2}' "$work/rounds" | median)
printf '%-6s %10.0f %8.0fus %10.0f %8.0fus %7.3f %10.2fus %10.2fus\n' median "$(col_median 2)" "$(col_median 3)" \
  "$(col_median 4)" "$(col_median 5)" "$ratio" "$(col_median 6)" "$(col_median 7)"
echo "median ratio expctl load / wrk: $ratio (target 0.90)"
