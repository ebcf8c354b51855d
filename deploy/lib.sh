# shellcheck shell=bash disable=SC2034
# deploy/lib.sh: helpers shared by the deploy/ scripts (sourced, not run).
# Sets ROOT (the repo root, physical path) and VAR, and defines logging,
# failure and small process helpers.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VAR="$ROOT/var"

say()  { printf '== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# tail_log FILE [LINES]: print the end of a log file to stderr (for failures).
tail_log() {
  local f="$1" n="${2:-40}"
  if [ -r "$f" ]; then
    printf -- '--- last %s lines of %s ---\n' "$n" "$f" >&2
    tail -n "$n" "$f" >&2 || true
    printf -- '--- end of %s ---\n' "$f" >&2
  else
    printf '(no log at %s)\n' "$f" >&2
  fi
}

# pid_alive PIDFILE [NAME]: true if the pid in PIDFILE is a live process
# (and, with NAME, one whose command line mentions NAME).
pid_alive() {
  local pf="$1" name="${2:-}" pid
  [ -s "$pf" ] || return 1
  pid="$(head -n1 "$pf" 2>/dev/null | tr -dc '0-9')"
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "$name" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name" || return 1
  fi
  return 0
}

pid_of() { head -n1 "$1" 2>/dev/null | tr -dc '0-9'; }

# stop_pid NAME PIDFILE TIMEOUT_S: SIGTERM to the pid in PIDFILE, SIGKILL if it is still
# there after TIMEOUT_S seconds; removes PIDFILE. The caller checks it runs first.
stop_pid() {
  local name="$1" pf="$2" timeout="$3" pid i
  pid="$(pid_of "$pf")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name (pid $pid) still running after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$pf"
}

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; run deploy/install-deps.sh first"
}

# What run.sh and test.sh both do first: install, build, start the servers, and load
# var/env.sh (also sets PG_PORT and S3_ADDR for messages).
prepare_servers_and_build() {
  say "installing missing system packages and the Python venv"
  bash deploy/install-deps.sh
  say "building"
  bash deploy/build.sh
  say "starting PostgreSQL, Redis, the S3 test server and MLflow"
  bash deploy/servers.sh start
  # shellcheck disable=SC1091
  source "$VAR/env.sh"
  PG_PORT="${EXPD_PG_URL##*:}"
  PG_PORT="${PG_PORT%%/*}"
  S3_ADDR="${EXPD_S3_URL#*endpoint=http://}"
  S3_ADDR="${S3_ADDR%%&*}"
}
