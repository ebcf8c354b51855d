#!/usr/bin/env bash
# deploy/run.sh: THE ONE COMMAND to try expd: installs missing packages, builds,
# starts PostgreSQL + Redis + S3 (moto) + MLflow + expd, fine-tunes the tiny planner on
# the trainer workers (MLflow registers it as planner_model), applies
# config/policies.example.yml and config/experiments.example.yml, starts
# planner_policy_exp and shows a few assignments, events and results. Leaves
# everything running.
# EXPD_NODES=N (2 or more): an N-node TLS cluster (deploy/cluster.sh) instead of one
# node; experiments go in through node 1, assignments through node N.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

prepare_servers_and_build
NODES="${EXPD_NODES:-1}"
PORT="${EXPD_PORT:-8080}"
if [ "$NODES" -gt 1 ]; then
  PORT="${EXPD_CLUSTER_HTTP_BASE:-8080}"
  say "starting a $NODES-node expd cluster"
  bash deploy/cluster.sh start "$NODES"
  # Assignments through the last node: most units are owned by another, answered over TLS.
  ASSIGN_SERVER="http://127.0.0.1:$((PORT + NODES - 1))"
else
  say "starting expd"
  bash deploy/expd.sh start
fi
export EXPD_SERVER="${EXPD_SERVER:-http://127.0.0.1:$PORT}"
ASSIGN_SERVER="${ASSIGN_SERVER:-$EXPD_SERVER}"
EXPCTL="$ROOT/build/expctl"
CONFIG="config/experiments.example.yml"
[ -x "$EXPCTL" ] || die "$EXPCTL not found; the build did not produce expctl"
[ -f "$CONFIG" ] || die "$CONFIG not found"

say "expctl apply -f config/event_types.example.yml"
"$EXPCTL" apply -f config/event_types.example.yml || die "expctl apply of the event types failed (expd log: var/log/expd.log)"

# The policy the example experiment serves names a model version MLflow has: the first
# run registers planner_model version 1 (later runs add versions; the policy keeps 1).
say "a LoRA fine-tune of the planner on the trainer workers (jobs/planner-lora.example.yml)"
bash tools/training-example.sh
bash deploy/trainer.sh start
job=$("$EXPCTL" train -f jobs/planner-lora.example.yml) || die "expctl train -f failed (expd log: var/log/expd.log)"
note "job $job; following its log until it ends (expctl train logs -f)"
"$EXPCTL" train logs -f "$job" | tail -n 6
"$EXPCTL" train status "$job"
"$EXPCTL" -o json train status "$job" | grep -q '"status": *"succeeded"' \
  || die "the training job did not succeed (var/log/expd-trainer.log)"
note "adapter (PEFT layout): var/training/planner-lora-example/adapter; validation curve: var/training/planner-lora-example/metrics.jsonl"
registered=""
for _ in $(seq 60); do # the node's tracker registers the version just after the job ended
  curl -fsS "$MLFLOW_TRACKING_URI/api/2.0/mlflow/model-versions/get?name=planner_model&version=1" >/dev/null 2>&1 \
    && { registered=1; break; }
  sleep 1
done
[ -n "$registered" ] || die "MLflow has no planner_model version 1 a minute after training (var/log/expd.log, var/log/mlflow.log)"

say "expctl apply -f config/policies.example.yml"
"$EXPCTL" apply -f config/policies.example.yml || die "expctl apply of the policies failed (expd log: var/log/expd.log)"

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

say "a few assignments (unit type user, app_version 1.2.3) through $ASSIGN_SERVER"
# Buckets (docs/assignment.md): 4856, 350, 7908, 9724, 6043: both variants show.
for unit in user-1 user-2 user-11 user-12 user-123; do
  printf '%-9s ' "$unit"
  # A node that has not loaded the experiments yet (NOTIFY) answers without them: wait.
  for _ in $(seq 20); do
    "$EXPCTL" --server "$ASSIGN_SERVER" -o json assign --unit-type user --unit-id "$unit" \
      --context '{"app_version":"1.2.3"}' 2>/dev/null | grep -q planner_policy_exp && break
    sleep 0.1
  done
  "$EXPCTL" --server "$ASSIGN_SERVER" assign --unit-type user --unit-id "$unit" --context '{"app_version":"1.2.3"}' \
    || die "expctl assign for $unit failed (expd log: var/log/expd.log)"
done

say "an event for user-123, and what arrived (expctl events tail)"
variant=$("$EXPCTL" -o json assign --unit-type user --unit-id user-123 --context '{"app_version":"1.2.3"}' \
  | sed -n 's/.*"variant_id": "\([0-9a-f-]\{36\}\)".*/\1/p' | head -1)
experiment=$("$EXPCTL" -o json assign --unit-type user --unit-id user-123 --context '{"app_version":"1.2.3"}' \
  | sed -n 's/.*"experiment_id": "\([0-9a-f-]\{36\}\)".*/\1/p' | head -1)
[ -n "$variant" ] && [ -n "$experiment" ] || die "could not read user-123's assignment"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -fsS -H 'Content-Type: application/json' "$EXPD_SERVER/v1/events" -d "{\"event_type\":\"plan_generated\",
  \"unit_type\":\"user\",\"unit_id\":\"user-123\",\"experiments\":[{\"experiment_id\":\"$experiment\",
  \"variant_id\":\"$variant\"}],\"context\":{\"policy_version_id\":\"uuid-v2\"},
  \"metrics\":{\"latency_ms\":450},\"timestamp\":\"$now\"}" || die "POST /v1/events failed (expd log: var/log/expd.log)"
echo
for _ in $(seq 50); do
  out=$("$EXPCTL" events tail --unit-id user-123) && [ -n "$out" ] && break
  sleep 0.1
done
printf '%s\n' "$out"

say "events for the other users (no experiments sent: expd attaches their variants), aggregates, results"
for i in 1 2 11 12; do
  curl -fsS -H 'Content-Type: application/json' "$EXPD_SERVER/v1/events" -d "{\"event_type\":\"plan_generated\",
    \"unit_type\":\"user\",\"unit_id\":\"user-$i\",\"metrics\":{\"latency_ms\":$((300 + 40 * i))},
    \"timestamp\":\"$now\"}" >/dev/null
done
for _ in $(seq 50); do # stored once the loader has taken them (it lingers after a partial batch)
  [ -n "$("$EXPCTL" events tail --unit-id user-12)" ] && break
  sleep 0.1
done
"$EXPCTL" aggregate --from "$(date -u -d yesterday +%Y-%m-%dT00:00:00Z)" --to "$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)"
"$EXPCTL" results planner_policy_exp

if [ "$NODES" -gt 1 ]; then
  say "the cluster (deploy/cluster.sh status)"
  bash deploy/cluster.sh status
fi

say "HTTPS for clients: the TLS front (deploy/tls-front.sh)"
bash deploy/tls-front.sh start
curl -fsS --cacert var/tls/cert.pem "https://127.0.0.1:${EXPD_TLS_PORT:-8443}/health" || die "GET /health over HTTPS failed (var/tls/nginx.log)"
echo

cat <<MSG

== expd is running on $EXPD_SERVER and https://127.0.0.1:${EXPD_TLS_PORT:-8443} (PostgreSQL 127.0.0.1:$PG_PORT, Redis ${EXPD_REDIS_URL#redis://}, S3 $S3_ADDR, MLflow $MLFLOW_TRACKING_URI)
   try:   source var/env.sh && build/expctl get experiments
   dashboard: $EXPD_SERVER/dashboard
   MLflow UI: $MLFLOW_TRACKING_URI
   logs:  var/log/expd.log (cluster: var/log/expd-n*.log)  var/log/expd-trainer.log  var/log/postgres.log  var/log/redis.log  var/log/moto.log  var/log/mlflow.log
   tests: bash deploy/test.sh
   stop:  bash deploy/stop.sh
MSG
