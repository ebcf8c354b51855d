#!/usr/bin/env bash
# deploy/trainer.sh start|stop|status: runs build/expd-trainer (the trainer workers,
# docs/gpu.md) in the background against the node deploy/expd.sh starts, whose training
# registry listens on 127.0.0.1:${EXPD_TRAINER_PORT:-7450}; logs to
# var/log/expd-trainer.log (pid in var/run/expd-trainer.pid).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT="${EXPD_TRAINER_PORT:-7450}"
BIN="$ROOT/build/expd-trainer"
PIDFILE="$VAR/run/expd-trainer.pid"
LOG="$VAR/log/expd-trainer.log"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }
running() { pid_alive "$PIDFILE" "$BIN"; }

do_start() {
  [ -x "$BIN" ] || die "$BIN not found; build first (deploy/build.sh)"
  mkdir -p "$VAR/log" "$VAR/run"
  if running; then
    if [ "$BIN" -nt "$PIDFILE" ]; then
      note "build/expd-trainer was rebuilt since the running one started; restarting it"
      do_stop
    else
      note "expd-trainer already running (pid $(pid_of "$PIDFILE"))"
      return 0
    fi
  fi
  say "starting expd-trainer (registry 127.0.0.1:$PORT, log var/log/expd-trainer.log)"
  printf '\n==== %s deploy/trainer.sh: starting %s\n' "$(date -u +%FT%TZ)" "$BIN" >>"$LOG"
  setsid "$BIN" --registry="127.0.0.1:$PORT" ${EXPD_TRAINER_THREADS:+--threads="$EXPD_TRAINER_THREADS"} \
    </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  local i
  for ((i = 0; i < 120; i++)); do
    grep -q '"expd_trainer_started"' <(tail -c +1 "$LOG" | tail -n 20) && { note "expd-trainer up (pid $pid)"; return 0; }
    kill -0 "$pid" 2>/dev/null || { tail_log "$LOG" 20; die "expd-trainer (pid $pid) exited during startup; see $LOG"; }
    sleep 0.25
  done
  tail_log "$LOG" 20
  die "expd-trainer (pid $pid) did not reach its registry within 30 s (is expd up with --trainer-listen=127.0.0.1:$PORT?)"
}

do_stop() {
  if ! running; then
    note "expd-trainer not running"
    rm -f "$PIDFILE"
    return 0
  fi
  say "stopping expd-trainer (pid $(pid_of "$PIDFILE"))"
  stop_pid expd-trainer "$PIDFILE" 10
}

do_status() {
  if running; then echo "expd-trainer: running, pid $(pid_of "$PIDFILE")"; else echo "expd-trainer: stopped"; return 3; fi
}

[ $# -eq 1 ] || usage
case "$1" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
