#!/usr/bin/env bash
# deploy/cluster.sh start N|stop|status: an N-node expd cluster on loopback, linked
# with TLS (certificates from deploy/cluster-certs.sh under var/cluster-tls), against the
# PostgreSQL of var/env.sh (deploy/servers.sh start when it is not up). Node i is named
# ni, serves HTTP on 127.0.0.1:$((EXPD_CLUSTER_HTTP_BASE + i - 1)) (8080 first) and links
# on 127.0.0.1:$((EXPD_CLUSTER_LINK_BASE + i - 1)) (7101 first); its spool is
# var/cluster/ni/, its log var/log/expd-ni.log, its pid var/run/expd-ni.pid. start waits
# until node 1 sees N nodes up and all 4096 slots ready; stop sends SIGTERM to every node
# (each drains) and waits; status prints /v1/cluster as a table.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

HTTP_BASE="${EXPD_CLUSTER_HTTP_BASE:-8080}"
LINK_BASE="${EXPD_CLUSTER_LINK_BASE:-7101}"
BIN="$ROOT/build/expd"
TLS_DIR="${EXPD_CLUSTER_TLS_DIR:-$VAR/cluster-tls}"
START_TIMEOUT="${EXPD_START_TIMEOUT:-60}"
STOP_TIMEOUT="${EXPD_STOP_TIMEOUT:-40}"

usage() { echo "usage: $0 start N|stop|status" >&2; exit 2; }
pidfile() { echo "$VAR/run/expd-n$1.pid"; }
logfile() { echo "$VAR/log/expd-n$1.log"; }
http_port() { echo $((HTTP_BASE + $1 - 1)); }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The nodes this script started that still run, by number.
running_nodes() {
  local f
  for f in "$VAR"/run/expd-n*.pid; do
    [ -e "$f" ] || continue
    f="${f##*/expd-n}"
    pid_alive "$(pidfile "${f%.pid}")" "$BIN" && echo "${f%.pid}"
  done | sort -n
}

load_env() {
  if [ -z "${EXPD_PG_URL:-}" ] || [ -z "${EXPD_ADMIN_TOKEN:-}" ]; then
    [ -f "$VAR/env.sh" ] || bash deploy/servers.sh start
    # shellcheck disable=SC1091
    source "$VAR/env.sh"
  fi
  need_cmd psql
  if ! psql "$EXPD_PG_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    bash deploy/servers.sh start
    # shellcheck disable=SC1091
    source "$VAR/env.sh"
  fi
  export EXPD_ADMIN_TOKEN
}

# cluster_view PORT: GET /v1/cluster from 127.0.0.1:PORT as one line per node.
cluster_view() {
  curl -fsS --max-time 3 "http://127.0.0.1:$1/v1/cluster" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("ring %s, %d members, answered by %s" % (d["ring"]["version"], len(d["ring"]["members"]), d["answered_by"]))
print("%-8s %-16s %-16s %-9s %6s %6s %6s %7s %9s" % ("NODE", "CLUSTER", "HTTP", "STATE", "SLOTS", "READY", "LINKED", "LEASE_S", "ASSIGN/S"))
for n in d["nodes"]:
    s = n.get("stats", {})
    print("%-8s %-16s %-16s %-9s %6d %6d %6s %7.2f %9.0f" % (n["name"], n["cluster_address"], n["http_address"], n["state"],
          n["slots_owned"], s.get("slots_ready", 0), "yes" if n["linked"] else "no", n["lease_left_seconds"], s.get("assign_per_second", 0)))
'
}

# ready N: node 1 sees N nodes up, all linked to it, and the ready slots sum to the ring's.
ready() {
  curl -fsS --max-time 3 "http://127.0.0.1:$(http_port 1)/v1/cluster" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
up = [n for n in d["nodes"] if n["state"] == "up"]
ok = len(up) == int(sys.argv[1]) and all(n["linked"] for n in up) \
     and sum(n.get("stats", {}).get("slots_ready", 0) for n in up) == d["ring"]["slots"]
sys.exit(0 if ok else 1)' "$1" 2>/dev/null
}

start_node() {
  local i="$1" pid log port args
  port="$(http_port "$i")"
  log="$(logfile "$i")"
  if pid_alive "$(pidfile "$i")" "$BIN"; then note "n$i already running (pid $(pid_of "$(pidfile "$i")"))"; return 0; fi
  port_busy "$port" && die "127.0.0.1:$port is in use by another process; stop it or set EXPD_CLUSTER_HTTP_BASE"
  port_busy $((LINK_BASE + i - 1)) && die "127.0.0.1:$((LINK_BASE + i - 1)) is in use; stop it or set EXPD_CLUSTER_LINK_BASE"
  mkdir -p "$VAR/cluster/n$i"
  args=(--listen="127.0.0.1:$port" --pg="$EXPD_PG_URL" --node-name="n$i"
        --cluster-listen="127.0.0.1:$((LINK_BASE + i - 1))" --spool-dir="$VAR/cluster/n$i"
        --archive="$VAR/cluster/n$i/archive"
        --cluster-cert="$TLS_DIR/n$i.pem" --cluster-key="$TLS_DIR/n$i.key" --cluster-ca="$TLS_DIR/ca.pem")
  # Every node logs training to MLflow and checks policies against it; node 1 holds the
  # training registry deploy/trainer.sh's workers join.
  if [ -n "${MLFLOW_TRACKING_URI:-}" ]; then args+=(--mlflow="$MLFLOW_TRACKING_URI"); fi
  [ "$i" != 1 ] || args+=(--trainer-listen="127.0.0.1:${EXPD_TRAINER_PORT:-7450}")
  # Any running node will do as the seed; node 1 when it runs.
  local seed
  seed="$(running_nodes | head -n1)"
  [ -z "$seed" ] || args+=(--join="127.0.0.1:$((LINK_BASE + seed - 1))")
  printf '\n==== %s deploy/cluster.sh: starting %s %s\n' "$(date -u +%FT%TZ)" "$BIN" "${args[*]}" >>"$log"
  setsid "$BIN" "${args[@]}" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$(pidfile "$i")"
  local k
  for ((k = 0; k < START_TIMEOUT * 4; k++)); do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && { note "n$i up (pid $pid, http://127.0.0.1:$port)"; return 0; }
    kill -0 "$pid" 2>/dev/null || { tail_log "$log" 20; die "n$i (pid $pid) exited during start-up; see $log"; }
    sleep 0.25
  done
  tail_log "$log" 20
  die "n$i did not answer /health within ${START_TIMEOUT}s (still running; deploy/cluster.sh stop)"
}

do_start() {
  local n="$1" i k
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || usage
  [ -x "$BIN" ] || die "$BIN not found; build first (deploy/build.sh)"
  need_cmd curl
  need_cmd python3
  load_env
  mkdir -p "$VAR/log" "$VAR/run"
  local names=()
  for ((i = 1; i <= n; i++)); do names+=("n$i"); done
  bash deploy/cluster-certs.sh --dir "$TLS_DIR" "${names[@]}" >/dev/null
  say "starting $n cluster nodes (HTTP from 127.0.0.1:$HTTP_BASE, links from 127.0.0.1:$LINK_BASE, TLS certificates in $TLS_DIR)"
  for ((i = 1; i <= n; i++)); do start_node "$i"; done
  for ((k = 0; k < START_TIMEOUT * 4; k++)); do
    if ready "$n"; then say "cluster ready: $n nodes up, every slot served"; cluster_view "$(http_port 1)"; return 0; fi
    sleep 0.25
  done
  cluster_view "$(http_port 1)" || true
  die "the cluster did not become ready within ${START_TIMEOUT}s (logs: var/log/expd-n*.log)"
}

do_stop() {
  local nodes i pid k
  nodes="$(running_nodes)"
  if [ -z "$nodes" ]; then note "no cluster node running"; rm -f "$VAR"/run/expd-n*.pid; return 0; fi
  say "stopping cluster nodes $(echo $nodes | sed 's/\([0-9]*\)/n\1/g') (SIGTERM: each hands its slots over and drains)"
  for i in $nodes; do kill -TERM "$(pid_of "$(pidfile "$i")")" 2>/dev/null || true; done
  for i in $nodes; do
    pid="$(pid_of "$(pidfile "$i")")"
    for ((k = 0; k < STOP_TIMEOUT * 4; k++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "n$i (pid $pid) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$i")"
  done
  note "cluster stopped"
}

do_status() {
  local nodes first
  nodes="$(running_nodes)"
  [ -n "$nodes" ] || { echo "cluster: no node running"; return 3; }
  first="$(echo "$nodes" | head -n1)"
  cluster_view "$(http_port "$first")" || { echo "cluster: n$first does not answer /v1/cluster"; return 3; }
}

case "${1:-}" in
  start) [ $# -eq 2 ] || usage; do_start "$2" ;;
  stop) [ $# -eq 1 ] || usage; do_stop ;;
  status) [ $# -eq 1 ] || usage; do_status ;;
  *) usage ;;
esac
