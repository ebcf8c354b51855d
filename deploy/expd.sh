#!/usr/bin/env bash
# deploy/expd.sh start|stop|status: runs build/expd in the background on
# 127.0.0.1:${EXPD_PORT:-8080} against the PostgreSQL from var/env.sh, logging to
# var/log/expd.log (pid in var/run/expd.pid); stop drains it with SIGTERM.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT="${EXPD_PORT:-8080}"
BIN="$ROOT/build/expd"
PIDFILE="$VAR/run/expd.pid"
LOG="$VAR/log/expd.log"
START_TIMEOUT="${EXPD_START_TIMEOUT:-30}"
STOP_TIMEOUT="${EXPD_STOP_TIMEOUT:-30}"
LOG_OFFSET=0

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }
running() { pid_alive "$PIDFILE" "$BIN"; }
healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Print the log written since this script started expd (or its tail).
log_since_start() {
  printf -- '--- %s (this start) ---\n' "$LOG" >&2
  tail -c +"$((LOG_OFFSET + 1))" "$LOG" 2>/dev/null | tail -n 40 >&2 || true
  printf -- '--- end of log ---\n' >&2
}

wait_healthy() {
  local pid="$1" i
  for ((i = 0; i < START_TIMEOUT * 4; i++)); do
    if healthy; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log_since_start
      die "expd (pid $pid) exited during startup; see $LOG"
    fi
    sleep 0.25
  done
  log_since_start
  die "expd (pid $pid) did not answer http://127.0.0.1:$PORT/health within ${START_TIMEOUT}s (it is still running; deploy/expd.sh stop)"
}

do_stop() {
  if ! running; then
    note "expd not running"
    rm -f "$PIDFILE"
    return 0
  fi
  say "stopping expd (pid $(pid_of "$PIDFILE"), SIGTERM; it drains its queues)"
  stop_pid expd "$PIDFILE" "$STOP_TIMEOUT"
}

do_start() {
  [ -x "$BIN" ] || die "$BIN not found; build first (deploy/build.sh)"
  need_cmd curl
  if [ -z "${EXPD_PG_URL:-}" ] || [ -z "${EXPD_ADMIN_TOKEN:-}" ]; then
    [ -f "$VAR/env.sh" ] || die "EXPD_PG_URL/EXPD_ADMIN_TOKEN not set and var/env.sh missing; run deploy/servers.sh start first"
    # shellcheck disable=SC1091
    source "$VAR/env.sh"
  fi
  export EXPD_ADMIN_TOKEN
  mkdir -p "$VAR/log" "$VAR/run"

  if running; then
    if [ "$BIN" -nt "$PIDFILE" ]; then
      note "build/expd was rebuilt since the running expd started; restarting it"
      do_stop
    else
      local pid; pid="$(pid_of "$PIDFILE")"
      wait_healthy "$pid"
      note "expd already running (pid $pid, http://127.0.0.1:$PORT)"
      return 0
    fi
  fi
  rm -f "$PIDFILE"
  if port_busy "$PORT"; then
    die "127.0.0.1:$PORT is already in use by another process (not started by this script); stop it or set EXPD_PORT"
  fi

  # The training registry for deploy/trainer.sh's workers.
  local args=(--listen="127.0.0.1:$PORT" --pg="$EXPD_PG_URL" --trainer-listen="127.0.0.1:${EXPD_TRAINER_PORT:-7450}")
  if [ -n "${EXPD_SHARDS:-}" ]; then args+=(--shards="$EXPD_SHARDS"); fi
  if [ -n "${MLFLOW_TRACKING_URI:-}" ]; then args+=(--mlflow="$MLFLOW_TRACKING_URI"); fi
  LOG_OFFSET="$(stat -c %s "$LOG" 2>/dev/null || echo 0)"
  say "starting expd on 127.0.0.1:$PORT (log var/log/expd.log)"
  printf '\n==== %s deploy/expd.sh: starting %s %s\n' "$(date -u +%FT%TZ)" "$BIN" "${args[*]}" >>"$LOG"
  # setsid: own session, so a Ctrl-C in the calling terminal does not hit it.
  setsid "$BIN" "${args[@]}" </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  wait_healthy "$pid"
  note "expd up (pid $pid, http://127.0.0.1:$PORT/health ok)"
}

do_status() {
  if running; then
    if healthy; then
      echo "expd: running, pid $(pid_of "$PIDFILE"), http://127.0.0.1:$PORT"
    else
      echo "expd: process $(pid_of "$PIDFILE") up but http://127.0.0.1:$PORT/health fails"; return 3
    fi
  else
    echo "expd: stopped"; return 3
  fi
}

[ $# -eq 1 ] || usage
case "$1" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
