#!/usr/bin/env bash
# A node alone against the same node as one of three on loopback, in one run: the
# requests/s of the member, two thirds of whose units live on the other two, as a ratio
# of the node alone; then, with the member drained (every unit remote), the cost of one
# remote hop: its p50 at one request in flight minus the node alone's. All through
# `expctl load` with the same units and connections. docs/scaling.md uses the figures.
# Needs: deploy/build.sh, deploy/servers.sh start.
# Usage: bench/cluster_remote_hop.sh [seconds] [concurrency] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${EXPD_TEST_PG_URL:-}" ] || source var/env.sh
duration=${1:-5}
concurrency=${2:-16}
rounds=${3:-3}
base=${EXPD_BENCH_PORT:-18400}
work=$(mktemp -d /tmp/expd-cluster-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fresh_db() {
  psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
  echo "${EXPD_TEST_PG_URL%/*}/$1"
}
wait_health() {
  for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "node on $1 did not start" >&2; exit 1
}
# Every slot ready on every node, as /v1/cluster tells.
wait_ready() {
  for _ in $(seq 200); do
    ready=$(curl -fsS "http://127.0.0.1:$1/v1/cluster" 2>/dev/null | python3 -c '
import json,sys
d=json.load(sys.stdin); up=[n for n in d["nodes"] if n["state"]=="up"]
print(sum(n["stats"].get("slots_ready",0) for n in up) if len(up)==int(sys.argv[1]) else 0)' "$2" || echo 0)
    [ "$ready" = 4096 ] && return
    sleep 0.1
  done
  echo "the cluster did not become ready" >&2; exit 1
}
setup_experiment() {
  EXPD_SERVER=http://127.0.0.1:$1 build/expctl apply -f bench/experiments.yml >/dev/null
  EXPD_SERVER=http://127.0.0.1:$1 build/expctl start planner_policy_exp >/dev/null
}
# load PORT CONCURRENCY -> "rps p50_us p99_us"
load() {
  build/expctl load --server="http://127.0.0.1:$1" --concurrency="$2" --duration="${duration}s" \
    --warmup=1s --units=20000 --unit-type=user --experiments=planner_policy_exp \
    --json="$work/report.json" >/dev/null
  python3 -c '
import json; r=json.load(open("'"$work/report.json"'"))
bad=sum(v for k,v in r.get("statuses",{}).items() if k!="200") if isinstance(r.get("statuses"),dict) else 0
print(round(r["throughput_rps"]), r["latency_us"]["p50"], r["latency_us"]["p99"], bad)'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

alone_url=$(fresh_db expd_bench_alone)
cluster_url=$(fresh_db expd_bench_cluster)
build/expd --pg="$alone_url" --listen=127.0.0.1:$base --log-level=warn \
  --spool-dir="$work/alone/spool" --archive=off 2>"$work/alone.log" &
pids+=($!)
for i in 1 2 3; do
  join=""; [ $i -gt 1 ] && join="--join=127.0.0.1:$((base + 100 + 1))"
  build/expd --pg="$cluster_url" --listen=127.0.0.1:$((base + i)) --log-level=warn \
    --node-name=n$i --cluster-listen=127.0.0.1:$((base + 100 + i)) --cluster-plain=on $join \
    --spool-dir="$work/n$i/spool" --archive=off 2>"$work/n$i.log" &
  pids+=($!)
  wait_health $((base + i))
done
wait_health $base
wait_ready $((base + 1)) 3
setup_experiment $base
setup_experiment $((base + 1))

echo "round alone_rps member_rps alone_p50_us member_p50_us (concurrency $concurrency; p50 at 1)"
for r in $(seq "$rounds"); do
  read -r a_rps _ _ _ < <(load $base "$concurrency")
  read -r m_rps _ _ _ < <(load $((base + 1)) "$concurrency")
  read -r _ a_p50 _ _ < <(load $base 1)
  read -r _ m_p50 _ _ < <(load $((base + 1)) 1)
  echo "$r $a_rps $m_rps $a_p50 $m_p50" | tee -a "$work/rounds"
done

# n1 keeps answering as a gateway with no slots: every request is one remote hop.
EXPD_SERVER=http://127.0.0.1:$((base + 1)) build/expctl cluster drain n1 >/dev/null
for _ in $(seq 100); do
  owned=$(curl -fsS "http://127.0.0.1:$((base + 1))/v1/cluster" | python3 -c '
import json,sys; print([n for n in json.load(sys.stdin)["nodes"] if n["name"]=="n1"][0]["slots_owned"])')
  [ "$owned" = 0 ] && break
  sleep 0.1
done
sleep 1
echo "round alone_p50_us remote_p50_us remote_rps"
for r in $(seq "$rounds"); do
  read -r _ a_p50 _ _ < <(load $base 1)
  read -r _ x_p50 _ _ < <(load $((base + 1)) 1)
  read -r x_rps _ _ _ < <(load $((base + 1)) "$concurrency")
  echo "$r $a_p50 $x_p50 $x_rps" | tee -a "$work/remote"
done

a=$(awk '{print $2}' "$work/rounds" | median); m=$(awk '{print $3}' "$work/rounds" | median)
ap=$(awk '{print $2}' "$work/remote" | median); xp=$(awk '{print $3}' "$work/remote" | median)
xr=$(awk '{print $4}' "$work/remote" | median)
python3 -c "
a,m,ap,xp,xr=$a,$m,$ap,$xp,$xr
print(f'medians: alone {a} req/s, member (2/3 remote) {m} req/s, ratio {m/a:.3f}')
print(f'all remote: {xr} req/s, ratio {xr/a:.3f}; p50 alone {ap} us, all remote {xp} us: one hop {xp-ap:.1f} us')"
