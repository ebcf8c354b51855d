#!/usr/bin/env bash
# expd's POST /v1/assign against nginx (one worker) answering a fixed JSON of the same
# size, with the same wrk load (1 thread, 32 keep-alive connections), in one run.
# Prints both figures and the ratio; see docs/benchmarks.md. Needs: deploy/build.sh,
# deploy/servers.sh start (or EXPD_TEST_PG_URL from another tree's var/env.sh).
# Usage: bench/http_vs_nginx.sh [seconds] [pin] [rounds] [units]
#   pin: "pinned" runs each server on core 0 and wrk on core 1.
#   rounds: nginx and expd alternate this many times (default 5) and medians are
#   reported, so a burst of noise on this shared machine does not decide the ratio.
#   units: "cycle" (default) cycles over 100k unit ids, which return after the warm-up;
#   "fresh" never repeats one, so every expd request is a first-time assignment
#   (journal write, write-behind row).
# EXPD_BENCH_DB names the scratch database (default expd_bench), so two trees can run
# this at once; EXPD_BENCH_FLAGS adds flags to expd.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f var/env.sh ] && source var/env.sh
duration=${1:-10}
pin=${2:-unpinned}
rounds=${3:-5}
units=${4:-cycle}
expd_port=18090
nginx_port=18091
work=$(mktemp -d /tmp/expd-bench.XXXXXX)
db=${EXPD_BENCH_DB:-expd_bench}
bench_url="${EXPD_TEST_PG_URL%/*}/$db"
expd_pid="" nginx_pid=""
cleanup() {
  [ -n "$expd_pid" ] && kill -TERM "$expd_pid" 2>/dev/null && wait "$expd_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

server_cpu=() wrk_cpu=()
if [ "$pin" = pinned ]; then
  server_cpu=(taskset -c 0)
  wrk_cpu=(taskset -c 1)
fi

psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
"${server_cpu[@]}" build/expd --pg="$bench_url" --listen=127.0.0.1:$expd_port --log-level=warn \
  --spool-dir="$work/spool" --archive=off ${EXPD_BENCH_FLAGS:-} \
  2>"$work/expd.log" &
expd_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$expd_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
export EXPD_SERVER=http://127.0.0.1:$expd_port
build/expctl apply -f bench/experiments.yml >/dev/null
build/expctl start planner_policy_exp >/dev/null

# Units cycle over 100k ids: the first pass assigns (and writes behind), then they return.
# Fresh ones are unique per request and wrk thread run.
if [ "$units" = fresh ]; then unit_expr='"fresh-" .. run .. "-" .. n'; else unit_expr='"user-" .. (n % 100000)'; fi
cat >"$work/assign.lua" <<LUA
local n = 0
local run = tostring(os.time()) .. "-" .. tostring(math.random(1000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"unit_type":"user","unit_id":"' .. $unit_expr ..
    '","context":{"app_version":"1.2.3"},"requested_experiments":["planner_policy_exp"]}'
  return wrk.format(nil, "/v1/assign", nil, body)
end
LUA

# nginx answers the bytes expd answers, so both move the same payload.
reply=$(curl -fsS -H 'Content-Type: application/json' -d \
  '{"unit_type":"user","unit_id":"user-1","context":{"app_version":"1.2.3"},"requested_experiments":["planner_policy_exp"]}' \
  "http://127.0.0.1:$expd_port/v1/assign")
mkdir -p "$work/nginx"
printf '%s' "$reply" >"$work/nginx/reply.json"
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      default_type application/json;
      return 200 '$(cat "$work/nginx/reply.json")';
    }
  }
}
NGINX
"${server_cpu[@]}" nginx -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!
sleep 0.5

run_wrk() { "${wrk_cpu[@]}" wrk -t1 -c32 -d"${duration}s" --latency -s "$work/assign.lua" "$1"; }
# Warm-up pass for expd: every unit id assigned once, so the measured run is steady.
run_wrk "http://127.0.0.1:$expd_port" >/dev/null
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
# wrk prints 99% latency as e.g. 812.00us or 1.61ms; normalise to microseconds.
p99_us() { awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
  print (u == "ms" ? v * 1000 : (u == "s" ? v * 1000000 : v)) }' <<<"$1"; }
errors() { grep -E 'Non-2xx|Socket errors' <<<"$1" || true; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

: >"$work/rounds"
for round in $(seq "$rounds"); do
  nginx_out=$(run_wrk "http://127.0.0.1:$nginx_port")
  expd_out=$(run_wrk "http://127.0.0.1:$expd_port")
  errors "$nginx_out"
  errors "$expd_out"
  echo "$round $(rps "$nginx_out") $(p99_us "$nginx_out") $(rps "$expd_out") $(p99_us "$expd_out")" >>"$work/rounds"
done

echo "reply bytes: ${#reply}   ${rounds} rounds x ${duration}s each   cpu: $pin   $(nproc) cores: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')"
printf '%-6s %10s %10s %10s %10s %7s\n' round nginx_rps nginx_p99 expd_rps expd_p99 ratio
awk '{ printf "%-6s %10.0f %8.0fus %10.0f %8.0fus %7.3f\n", $1, $2, $3, $4, $5, $4 / $2 }' "$work/rounds"
nginx_rps=$(awk '{print $2}' "$work/rounds" | median)
expd_rps=$(awk '{print $4}' "$work/rounds" | median)
nginx_p99=$(awk '{print $3}' "$work/rounds" | median)
expd_p99=$(awk '{print $5}' "$work/rounds" | median)
ratio=$(awk '{print $4 / $2}' "$work/rounds" | median)
printf '%-6s %10.0f %8.0fus %10.0f %8.0fus %7.3f\n' median "$nginx_rps" "$nginx_p99" "$expd_rps" "$expd_p99" "$ratio"
echo "median ratio expd/nginx: $ratio (floor 0.75); median expd p99: ${expd_p99}us (ceiling 1000us)"
echo "expd rows in exp.assignments: $(psql "$bench_url" -Atc 'SELECT count(*) FROM exp.assignments')"
