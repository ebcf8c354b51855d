#!/usr/bin/env bash
# POST /v1/plan with the tiny model on CPU (issue 16): throughput and p99 latency at 1, 8
# and 32 concurrent clients (wrk, keep-alive), with the model host's batching on (its
# default --inference-batch=32) and off (--inference-batch=1), alternating in one run so
# both see the same machine. The figure: throughput at 32 clients, on / off (>= 3).
# Needs deploy/build.sh and deploy/servers.sh start (PostgreSQL, MLflow); see
# docs/benchmarks.md.
# Usage: bench/plan_throughput.sh [seconds per point] [rounds] [max new tokens]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${EXPD_TEST_PG_URL:-}" ] || source var/env.sh
seconds=${1:-10} rounds=${2:-3} tokens=${3:-32}
port=${EXPD_BENCH_PORT:-18093}
trainer_port=$((port + 1))
db=expd_bench_plan
url="${EXPD_TEST_PG_URL%/*}/$db"
work=$(mktemp -d /tmp/expd-plan-bench.XXXXXX)
export EXPD_ADMIN_TOKEN=bench-admin-token-0123456789
model="bench_plan_model_$$_$(date +%s)"
expd_pid="" trainer_pid=""
cleanup() {
  [ -n "$trainer_pid" ] && kill "$trainer_pid" 2>/dev/null && wait "$trainer_pid" 2>/dev/null
  [ -n "$expd_pid" ] && kill -TERM "$expd_pid" 2>/dev/null && wait "$expd_pid" 2>/dev/null
  psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
die() { echo "plan_throughput: $*" >&2; exit 1; }
api() { curl -sS -H "Authorization: Bearer $EXPD_ADMIN_TOKEN" -H 'Content-Type: application/json' "$@"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The tiny checkpoint and tokenizer of the tests, the corpus as its training set, and the
# planner domain whose households ask for plans.
/usr/bin/python3 tests/gpu/make_tiny_checkpoint.py sized "$work/model" 384 >/dev/null
tools/tiny-tokenizer.sh --vocab 384 --corpus-bin build/expd-planning-corpus "$work/model" >/dev/null
build/expd-planning-corpus --rows=96 --seed=7 --validation=0.2 --format=parquet --out="$work/training.parquet"
build/expd-planning-corpus --format=domain --rows=400 --seed=13 --start=2025-01-06T00:00:00Z --out="$work/domain"
psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql "$url" -X -q -v ON_ERROR_STOP=1 -f sql/domain/planner_schema.sql
psql "$url" -X -q -v ON_ERROR_STOP=1 -v dir="$work/domain" -f sql/domain/planner_seed.sql

build/expd --pg="$url" --listen=127.0.0.1:$port --log-level=warn --spool-dir="$work/spool" --archive=off \
  --trainer-listen=127.0.0.1:$trainer_port --mlflow="$MLFLOW_TRACKING_URI" --model-cache="$work/models" \
  --plan-max-new-tokens="$tokens" 2>"$work/expd.log" &
expd_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
start_trainer() { # the model host's batch size
  [ -n "$trainer_pid" ] && kill "$trainer_pid" 2>/dev/null && wait "$trainer_pid" 2>/dev/null || true
  build/expd-trainer --registry=127.0.0.1:$trainer_port --workers=1 --threads=1 --inference-batch="$1" \
    >>"$work/trainer.log" 2>&1 &
  trainer_pid=$!
}
start_trainer 32

api -X POST "http://127.0.0.1:$port/admin/v1/event-types/apply" -d '{"event_types":[
  {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","min":0},"cost_usd":{"type":"number","min":0},
   "plan_steps":{"type":"integer","min":0}}}]}' >/dev/null
job=$(api -X POST "http://127.0.0.1:$port/admin/v1/training-jobs" -d "{\"name\":\"bench-plan\",
  \"dataset\":\"$work/training.parquet\",\"base_model\":\"$work/model\",\"output\":\"$work/job\",
  \"lora\":{\"rank\":4,\"alpha\":8,\"target_modules\":[\"q_proj\",\"v_proj\"]},\"batch_size\":4,\"max_steps\":3,
  \"sequence_length\":512,\"mlflow\":{\"experiment\":\"$model\",\"register_model\":\"$model\"}}" |
  /usr/bin/python3 -c 'import json,sys; d = json.load(sys.stdin); print(d.get("id") or sys.exit("the training job was refused: %s" % d))')
for _ in $(seq 600); do
  status=$(api "http://127.0.0.1:$port/admin/v1/training-jobs/$job" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = succeeded ] && break
  [ "$status" = failed ] && die "the training job failed (see $work/trainer.log)"
  sleep 1
done
for _ in $(seq 300); do
  curl -fsS "$MLFLOW_TRACKING_URI/api/2.0/mlflow/model-versions/get?name=$model&version=1" >/dev/null 2>&1 && break
  sleep 1
done
api -X POST "http://127.0.0.1:$port/admin/v1/policies/apply" -d "{\"policies\":[{\"name\":\"planner_policy\",
  \"versions\":[{\"version\":1,\"mlflow_model_name\":\"$model\",\"mlflow_model_version\":1}]}]}" >/dev/null
api -X POST "http://127.0.0.1:$port/admin/v1/experiments/apply" -d '{"experiments":[{"name":"planner_policy_exp",
  "unit_type":"household","variants":[{"name":"control","allocation":0.5,"config":{"policy_version_id":"planner_policy/1"}},
  {"name":"treatment","allocation":0.5,"config":{"policy_version_id":"planner_policy/1"}}]}]}' >/dev/null
api -X POST "http://127.0.0.1:$port/admin/v1/experiments/planner_policy_exp/status" -d '{"status":"running"}' >/dev/null

# The corpus households' requests, one JSON body a line, cycled by wrk.
/usr/bin/python3 - "$work/domain/events.ndjson" >"$work/bodies" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event_type"] != "plan_generated":
        continue
    c = e["context"]
    print(json.dumps({"unit_id": e["unit_id"], "input": {k: c[k] for k in
        ("pantry_id", "constraint_id", "workflow", "mode")} | {"previous_plan": c.get("previous_plan", [])}}))
PY
cat >"$work/plan.lua" <<LUA
local bodies = {}
for line in io.lines("$work/bodies") do bodies[#bodies + 1] = line end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, "/v1/plan", nil, bodies[n])
end
LUA
warm() { # the model loaded on the current host, answering
  for _ in $(seq 120); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
         --data-binary @<(head -1 "$work/bodies") "http://127.0.0.1:$port/v1/plan")" = 200 ] && return
    sleep 1
  done
  die "no plan after two minutes (see $work/expd.log, $work/trainer.log)"
}
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99_ms() { awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
  print (u == "us" ? v / 1000 : (u == "s" ? v * 1000 : v)) }' <<<"$1"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

: >"$work/points"
for round in $(seq "$rounds"); do
  for batching in on off; do
    start_trainer "$([ $batching = on ] && echo 32 || echo 1)"
    warm
    for clients in 1 8 32; do
      out=$(wrk -t1 -c"$clients" -d"${seconds}s" --timeout 30s --latency -s "$work/plan.lua" "http://127.0.0.1:$port")
      if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        grep -E 'Non-2xx|Socket errors' <<<"$out"
        die "errors at $clients clients, batching $batching (round $round)"
      fi
      echo "$round $batching $clients $(rps "$out") $(p99_ms "$out")" | tee -a "$work/points"
    done
  done
done

echo "${rounds} rounds x ${seconds}s a point, $tokens new tokens a plan, tiny model (hidden 64, 2 layers, vocabulary 384), torch 1 thread"
printf '%-8s %-9s %12s %12s\n' clients batching 'plans/s' 'p99 ms'
for clients in 1 8 32; do
  for batching in on off; do
    r=$(awk -v c=$clients -v b=$batching '$2 == b && $3 == c {print $4}' "$work/points" | median)
    p=$(awk -v c=$clients -v b=$batching '$2 == b && $3 == c {print $5}' "$work/points" | median)
    printf '%-8s %-9s %12.1f %12.1f\n' "$clients" "$batching" "$r" "$p"
  done
done
for clients in 1 8 32; do
  ratio=$(awk -v c=$clients '$3 == c { k = $1; if ($2 == "on") on[k] = $4; else off[k] = $4 }
    END { for (k in on) print on[k] / off[k] }' "$work/points" | median)
  echo "throughput on / off at $clients clients (median of the rounds): $ratio"
done
echo "target: at least 3 at 32 clients"
