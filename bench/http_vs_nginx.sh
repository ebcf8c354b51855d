#!/usr/bin/env bash
# expd's POST /v1/assign against nginx (one worker) answering a fixed JSON of the same
# size, with the same wrk load (1 thread, 32 keep-alive connections), in one run.
# Prints both figures and the ratio; see docs/benchmarks.md. Needs: deploy/build.sh,
# deploy/servers.sh start. Usage: bench/http_vs_nginx.sh [seconds] [pin]
#   pin: "pinned" runs each server on core 0 and wrk on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source var/env.sh
duration=${1:-10}
pin=${2:-unpinned}
expd_port=18090
nginx_port=18091
work=$(mktemp -d /tmp/expd-bench.XXXXXX)
db=expd_bench
bench_url="${EXPD_PG_URL%/*}/$db"
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

psql "$EXPD_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
"${server_cpu[@]}" build/expd --pg="$bench_url" --listen=127.0.0.1:$expd_port --log-level=warn ${EXPD_BENCH_FLAGS:-} \
  2>"$work/expd.log" &
expd_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$expd_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
export EXPD_SERVER=http://127.0.0.1:$expd_port
build/expctl apply -f config/experiments.example.yml >/dev/null
build/expctl start planner_policy_exp >/dev/null

# Units cycle over 100k ids: the first pass assigns (and writes behind), then they return.
cat >"$work/assign.lua" <<'LUA'
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"unit_type":"user","unit_id":"user-' .. (n % 100000) ..
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
nginx_out=$(run_wrk "http://127.0.0.1:$nginx_port")
expd_out=$(run_wrk "http://127.0.0.1:$expd_port")

rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '$1 == "99%" {print $2}' <<<"$1"; }
errors() { grep -E 'Non-2xx|Socket errors' <<<"$1" || true; }
nginx_rps=$(rps "$nginx_out") expd_rps=$(rps "$expd_out")
echo "reply bytes: ${#reply}   duration: ${duration}s   cpu: $pin   $(nproc) cores: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')"
printf '%-6s %12s %10s\n' server req/s p99
printf '%-6s %12s %10s\n' nginx "$nginx_rps" "$(p99 "$nginx_out")"
printf '%-6s %12s %10s\n' expd "$expd_rps" "$(p99 "$expd_out")"
awk -v e="$expd_rps" -v n="$nginx_rps" 'BEGIN { printf "ratio expd/nginx: %.3f (floor 0.50)\n", e / n }'
errors "$nginx_out"
errors "$expd_out"
echo "expd rows in exp.assignments: $(psql "$bench_url" -Atc 'SELECT count(*) FROM exp.assignments')"
