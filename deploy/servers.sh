#!/usr/bin/env bash
# deploy/servers.sh start|stop|status: runs the local PostgreSQL 15, Redis, S3 test
# server (moto, from var/venv) and MLflow tracking server (from var/venv) that expd and
# its tests use, on 127.0.0.1 only, with all data under var/ (no system service).
# `start` also writes var/env.sh (URLs, admin token, S3 access key, MLflow's URI).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PG_PORT="${EXPD_PG_PORT:-54329}"
REDIS_PORT="${EXPD_REDIS_PORT:-63799}"
S3_PORT="${EXPD_S3_PORT:-59000}"
MLFLOW_PORT="${EXPD_MLFLOW_PORT:-55000}"
S3_BUCKET=expd-archive
PG_BIN="${EXPD_PG_BIN:-/usr/lib/postgresql/15/bin}"
TIMEOUT="${EXPD_SERVERS_TIMEOUT:-60}"      # seconds to wait for each server

REDIS_PIDFILE="$VAR/run/redis.pid"
REDIS_PORTFILE="$VAR/run/redis.port"
REDIS_LOG="$VAR/log/redis.log"
MOTO_PIDFILE="$VAR/run/moto.pid"
MOTO_PORTFILE="$VAR/run/moto.port"
MOTO_KEYS="$VAR/run/moto.keys"
MOTO_LOG="$VAR/log/moto.log"
MLFLOW_PIDFILE="$VAR/run/mlflow.pid"
MLFLOW_PORTFILE="$VAR/run/mlflow.port"
MLFLOW_LOG="$VAR/log/mlflow.log"
MLFLOW_DIR="$VAR/mlflow"       # mlflow.db (runs, registry) and artifacts/
VENV="$VAR/venv"
PG_LOG_LINK="$VAR/log/postgres.log"
ENV_FILE="$VAR/env.sh"
TOKEN_FILE="$VAR/admin.token"
PG_PASSFILE="$VAR/pgpass"   # libpq's password file (PGPASSFILE in var/env.sh), 0600
REPO_HASH="$(printf '%s' "$ROOT" | sha1sum | cut -c1-8)"
ME="$(id -un)"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }

# port_busy PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_process NAME TARGET: SIGTERM to TARGET (a pid, or -PGID for a process group),
# SIGKILL when it is still there after 15 s.
stop_process() {
  local name="$1" target="$2" i
  kill -TERM -- "$target" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do kill -0 -- "$target" 2>/dev/null || return 0; sleep 0.25; done
  warn "$name ignored SIGTERM; sending SIGKILL"
  kill -KILL -- "$target" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do kill -0 -- "$target" 2>/dev/null || return 0; sleep 0.25; done
  die "$name did not stop"
}

# server_status LABEL RUNNING ANSWERS PIDFILE PORT DETAIL: the status line of a server
# run from a pid file; RUNNING checks the process, ANSWERS PORT the server.
server_status() {
  local label="$1" running="$2" answers="$3" pidfile="$4" port="$5" detail="$6"
  if ! "$running"; then echo "$label stopped"; return 1; fi
  if "$answers" "$port"; then
    echo "$label running, pid $(pid_of "$pidfile"), $detail"
  else
    echo "$label process $(pid_of "$pidfile") up but not answering on 127.0.0.1:$port"; return 1
  fi
}

# ---------------------------------------------------------------- PostgreSQL
# PostgreSQL refuses to run as root, so as root its binaries run as the
# `postgres` system user (or as the non-root owner of an existing data dir).
pg_setup_user() {
  [ -x "$PG_BIN/pg_ctl" ] || die "PostgreSQL 15 not found in $PG_BIN; run deploy/install-deps.sh (or set EXPD_PG_BIN)"
  PG_USER="$ME"
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || die "running as root but there is no 'postgres' user; install the postgresql package (deploy/install-deps.sh)"
    command -v runuser >/dev/null || die "runuser not found (util-linux)"
    PG_USER=postgres
  fi
}

# as_pg CMD...: run CMD as the PostgreSQL user, from / (its cwd may be
# unreadable for that user), without our lock fd.
as_pg() {
  if [ "$PG_USER" = "$ME" ]; then
    ( cd / && exec "$@" ) 9>&-
  else
    ( cd / && exec runuser -u "$PG_USER" -- "$@" ) 9>&-
  fi
}

# Owner-only directory for the PostgreSQL user.
pg_mkdir() {
  local d="$1"
  if [ ! -d "$d" ]; then mkdir -m 700 "$d"; fi
  if [ "$PG_USER" != "$ME" ]; then chown "$PG_USER": "$d"; fi
  chmod 700 "$d"
}

# Sets PG_BASE (holds data/, run/, log/): var/pg itself, or, when the PostgreSQL
# user cannot traverse the repo path (root + repo under /root), a directory in
# /tmp that var/pg links to.
pg_resolve_base() {
  local link="$VAR/pg" tmpbase
  tmpbase="/tmp/expd-pg-$(id -u)-$REPO_HASH"
  if [ -L "$link" ]; then
    PG_BASE="$(readlink "$link")"
    case "$PG_BASE" in
      /tmp/expd-pg-*) ;;
      *) die "$link is a symlink to $PG_BASE, which this script did not create; remove it" ;;
    esac
  elif [ -d "$link" ]; then
    PG_BASE="$link"
    if ! as_pg test -x "$VAR"; then
      if [ -z "$(ls -A "$link")" ]; then
        rmdir "$link"; PG_BASE="$tmpbase"; ln -s "$PG_BASE" "$link"
      else
        die "user $PG_USER cannot reach $link (a parent directory is not traversable); fix the permissions or remove var/pg to move the data to /tmp"
      fi
    fi
  elif [ -e "$link" ]; then
    die "$link exists but is not a directory; remove it"
  elif as_pg test -x "$VAR"; then
    PG_BASE="$link"
  else
    PG_BASE="$tmpbase"
    note "user $PG_USER cannot traverse $ROOT; PostgreSQL data goes to $PG_BASE (var/pg links there)"
    ln -s "$PG_BASE" "$link"
  fi

  if [ "$PG_BASE" = "$tmpbase" ]; then
    if [ -L "$PG_BASE" ] || { [ -e "$PG_BASE" ] && [ ! -d "$PG_BASE" ]; }; then
      die "$PG_BASE exists and is not a plain directory; remove it"
    fi
    if [ -d "$PG_BASE" ]; then
      local owner; owner="$(stat -c %U "$PG_BASE")"
      [ "$owner" = "$PG_USER" ] || [ "$owner" = "$ME" ] || die "$PG_BASE is owned by $owner, not $PG_USER; remove it"
    fi
  fi
  if [ -d "$PG_BASE/data" ]; then
    local owner; owner="$(stat -c %U "$PG_BASE/data")"
    if [ "$owner" != "$PG_USER" ]; then
      if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
        PG_USER="$owner"     # data made by a non-root user: keep running it as them
      else
        die "$PG_BASE/data belongs to $owner; run this script as $owner (or as root), or remove var/pg"
      fi
    fi
  fi
  PG_DATA="$PG_BASE/data"
  PG_LOG="$PG_BASE/log/postgres.log"
  PG_SOCK="$PG_BASE/run"
  # A Unix socket path must fit in ~107 bytes; fall back to /tmp when too long.
  if [ "${#PG_SOCK}" -gt 85 ]; then PG_SOCK="/tmp/expd-pgsock-$(id -u)-$REPO_HASH"; fi
}

pg_prepare_dirs() {
  pg_mkdir "$PG_BASE"
  pg_mkdir "$PG_BASE/log"
  pg_mkdir "$PG_SOCK"
  ln -sfn "$PG_LOG" "$PG_LOG_LINK"
}

pg_running() { [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
# A server already running on another port than asked for is kept: says so, and the
# port variable named by $2 takes the running port $3 (empty: not known, left as is).
keep_running_port() {
  local -n asked="$2"
  if [ -n "$3" ] && [ "$3" != "$asked" ]; then
    warn "$1 is already running on port $3 (not $asked); keeping it (stop it first to change the port)"
    asked="$3"
  fi
}

pg_running_port() { as_pg sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9'; }
pg_psql() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_initdb() {
  say "initializing PostgreSQL data dir ($PG_DATA)"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C \
    >"$VAR/log/initdb.log" 2>&1 || { tail_log "$VAR/log/initdb.log"; die "initdb failed"; }
  printf '\n# Added by deploy/servers.sh (settings rewritten on every start)\ninclude_if_exists = '\''expd.conf'\''\n' \
    | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

# Who may connect, rewritten on every start (a data dir made before passwords had
# trust for everyone). The socket folder is private to the server's user (0700), so
# only that user reaches the superuser; every TCP client gives its password (SCRAM).
pg_write_hba() {
  printf '%s\n' \
    '# Written by deploy/servers.sh on every start; edit the script, not this file.' \
    'local   all   postgres                trust' \
    'host    all   all      127.0.0.1/32   scram-sha-256' \
    'host    all   all      ::1/128        scram-sha-256' | as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null
}

pg_write_conf() {
  printf '%s\n' \
    '# Written by deploy/servers.sh on every start; edit the script, not this file.' \
    "listen_addresses = '127.0.0.1'" \
    "password_encryption = 'scram-sha-256'" \
    "port = $PG_PORT" \
    "unix_socket_directories = '$PG_SOCK'" \
    'max_connections = 200' \
    'shared_buffers = 256MB' \
    "timezone = 'UTC'" | as_pg tee "$PG_DATA/expd.conf" >/dev/null
}

pg_wait_ready() {
  local i
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; then return 0; fi
    sleep 0.5
  done
  tail_log "$PG_LOG"
  die "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${TIMEOUT}s"
}

pg_start() {
  pg_setup_user
  pg_resolve_base
  pg_prepare_dirs
  if pg_running; then
    keep_running_port PostgreSQL PG_PORT "$(pg_running_port)"
    note "PostgreSQL already running (127.0.0.1:$PG_PORT)"
    pg_write_hba
    pg_psql -c 'select pg_reload_conf()' >/dev/null
  else
    [ -f "$PG_DATA/PG_VERSION" ] || pg_initdb
    if port_busy "$PG_PORT"; then
      die "port 127.0.0.1:$PG_PORT is already used by another process; stop it or set EXPD_PG_PORT"
    fi
    pg_write_conf
    pg_write_hba
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" -s start; then
      tail_log "$PG_LOG"
      die "PostgreSQL failed to start"
    fi
  fi
  pg_wait_ready
  pg_roles
  if [ -z "$(pg_psql -tAc "select 1 from pg_database where datname = 'expd'")" ]; then
    note "creating database expd"
    pg_psql -c 'create database expd owner expd'
  fi
  pg_psql -c 'alter database expd owner to expd'
}

# The roles, made or corrected on every start (idempotent):
#   expd           the service: owns database expd and so the schema its migrations make;
#                  not a superuser, cannot create roles or databases
#   expd_test      the test suite and benchmarks: creates scratch databases, runs expd
#                  in them, may SET ROLE expd_readonly
#   expd_readonly  analysts and Metabase (NOLOGIN; migration 004 grants SELECT)
# Passwords are generated once into var/pgpass, which libpq reads (PGPASSFILE), and
# reach psql on standard input: never on a command line or in a log.
pg_roles() {
  if [ ! -s "$PG_PASSFILE" ]; then
    note "generating PostgreSQL passwords (var/pgpass)"
    ( umask 077
      for role in expd expd_test; do
        printf '127.0.0.1:*:*:%s:%s\n' "$role" "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"
      done >"$PG_PASSFILE.tmp" && mv "$PG_PASSFILE.tmp" "$PG_PASSFILE" )
  fi
  chmod 600 "$PG_PASSFILE"
  local expd_pw test_pw
  expd_pw="$(awk -F: '$4 == "expd" {print $5}' "$PG_PASSFILE")"
  test_pw="$(awk -F: '$4 == "expd_test" {print $5}' "$PG_PASSFILE")"
  [ -n "$expd_pw" ] && [ -n "$test_pw" ] || die "$PG_PASSFILE lacks a password for expd or expd_test; remove it to make new ones"
  pg_psql <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'expd') THEN CREATE ROLE expd; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'expd_test') THEN CREATE ROLE expd_test; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'expd_readonly') THEN CREATE ROLE expd_readonly; END IF;
END \$\$;
ALTER ROLE expd LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$expd_pw';
ALTER ROLE expd_test LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$test_pw';
ALTER ROLE expd_readonly NOLOGIN NOSUPERUSER;
ALTER ROLE expd_readonly SET statement_timeout = '60s';
GRANT expd_readonly TO expd_test;
SQL
}

pg_stop() {
  pg_setup_user
  if [ ! -e "$VAR/pg" ]; then note "PostgreSQL: not set up"; return 0; fi
  pg_resolve_base
  if pg_running; then
    say "stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" -s stop \
      || { tail_log "$PG_LOG"; die "PostgreSQL did not stop"; }
  else
    note "PostgreSQL not running"
  fi
}

pg_status() {
  pg_setup_user
  if [ ! -e "$VAR/pg" ]; then echo "postgres: not set up (run deploy/servers.sh start)"; return 1; fi
  pg_resolve_base
  if pg_running; then
    local port; port="$(pg_running_port)"
    local pid; pid="$(as_pg sed -n 1p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
      echo "postgres: running, pid $pid, 127.0.0.1:$port, data $PG_DATA"
    else
      echo "postgres: process $pid up but not accepting connections on 127.0.0.1:$port"; return 1
    fi
  else
    echo "postgres: stopped (data $PG_DATA)"; return 1
  fi
}

# --------------------------------------------------------------------- Redis
redis_running() { pid_alive "$REDIS_PIDFILE" redis-server; }
redis_running_port() { cat "$REDIS_PORTFILE" 2>/dev/null || echo "$REDIS_PORT"; }

redis_start() {
  need_cmd redis-server
  need_cmd redis-cli
  local ver; ver="$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')"
  case "$ver" in
    ''|[0-5].*) die "redis-server ${ver:-(unknown version)} is too old; need >= 6 (Debian 12 ships 7.0)" ;;
  esac
  if redis_running; then
    keep_running_port Redis REDIS_PORT "$(redis_running_port)"
    note "Redis already running (127.0.0.1:$REDIS_PORT)"
  else
    rm -f "$REDIS_PIDFILE"
    if port_busy "$REDIS_PORT"; then
      die "port 127.0.0.1:$REDIS_PORT is already used by another process; stop it or set EXPD_REDIS_PORT"
    fi
    say "starting Redis $ver on 127.0.0.1:$REDIS_PORT"
    echo "$REDIS_PORT" >"$REDIS_PORTFILE"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$VAR/redis" \
      --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --save '' \
      9>&- </dev/null || { tail_log "$REDIS_LOG"; die "redis-server failed to start"; }
  fi
  local i
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then return 0; fi
    sleep 0.5
  done
  tail_log "$REDIS_LOG"
  die "Redis did not answer PING on 127.0.0.1:$REDIS_PORT within ${TIMEOUT}s"
}

redis_stop() {
  if ! redis_running; then note "Redis not running"; rm -f "$REDIS_PIDFILE"; return 0; fi
  local pid port i; pid="$(pid_of "$REDIS_PIDFILE")"; port="$(redis_running_port)"
  say "stopping Redis"
  redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    warn "Redis (pid $pid) ignored SHUTDOWN; sending SIGTERM"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && die "Redis (pid $pid) did not stop"
  fi
  rm -f "$REDIS_PIDFILE"
}

redis_status() {
  if redis_running; then
    local port; port="$(redis_running_port)"
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
      echo "redis:    running, pid $(pid_of "$REDIS_PIDFILE"), 127.0.0.1:$port"
    else
      echo "redis:    process $(pid_of "$REDIS_PIDFILE") up but not answering PING on 127.0.0.1:$port"; return 1
    fi
  else
    echo "redis:    stopped"; return 1
  fi
}

# ------------------------------------------------------------- S3 (moto)
# moto keeps everything in memory: a restart starts with an empty bucket and a new
# access key (var/run/moto.keys, copied into var/env.sh).
moto_running() { pid_alive "$MOTO_PIDFILE" moto_server; }
moto_running_port() { cat "$MOTO_PORTFILE" 2>/dev/null || echo "$S3_PORT"; }
moto_answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/moto-api/" 2>/dev/null; }
moto_setup() { "$VENV/bin/python" "$ROOT/deploy/s3_setup.py" "$1" "http://127.0.0.1:$S3_PORT" "$S3_BUCKET" "$MOTO_KEYS"; }

moto_start() {
  need_cmd curl
  [ -x "$VENV/bin/moto_server" ] || die "moto not found in var/venv; run deploy/install-deps.sh"
  if moto_running; then
    keep_running_port moto S3_PORT "$(moto_running_port)"
    if moto_setup check 9>&-; then
      note "S3 (moto) already running (127.0.0.1:$S3_PORT)"
      return 0
    fi
    warn "the running moto does not take the key in var/run/moto.keys or does not check signatures; restarting it (its objects are lost)"
    moto_stop
  fi
  rm -f "$MOTO_PIDFILE" "$MOTO_KEYS"
  if port_busy "$S3_PORT"; then
    die "port 127.0.0.1:$S3_PORT is already used by another process; stop it or set EXPD_S3_PORT"
  fi
  say "starting S3 test server (moto) on 127.0.0.1:$S3_PORT"
  echo "$S3_PORT" >"$MOTO_PORTFILE"
  printf '\n==== %s deploy/servers.sh: starting moto_server on 127.0.0.1:%s\n' "$(date -u +%FT%TZ)" "$S3_PORT" >>"$MOTO_LOG"
  # After the three IAM calls of s3_setup.py create, every request must be signed
  # with a key moto's IAM knows (see deploy/s3_setup.py).
  INITIAL_NO_AUTH_ACTION_COUNT=3 setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" \
    </dev/null >>"$MOTO_LOG" 2>&1 9>&- &
  local pid=$! i
  echo "$pid" >"$MOTO_PIDFILE"
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if moto_answers "$S3_PORT"; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log "$MOTO_LOG"
      die "moto_server (pid $pid) exited during startup"
    fi
    sleep 0.5
  done
  if ! moto_answers "$S3_PORT"; then
    tail_log "$MOTO_LOG"
    die "moto did not answer on 127.0.0.1:$S3_PORT within ${TIMEOUT}s"
  fi
  note "creating the access key and bucket $S3_BUCKET; signatures are checked from now on"
  if ! moto_setup create 9>&-; then
    tail_log "$MOTO_LOG"
    moto_stop
    die "setting up moto failed (messages above)"
  fi
}

moto_stop() {
  if ! moto_running; then note "S3 (moto) not running"; rm -f "$MOTO_PIDFILE" "$MOTO_KEYS"; return 0; fi
  say "stopping S3 test server (moto)"
  stop_process "moto (pid $(pid_of "$MOTO_PIDFILE"))" "$(pid_of "$MOTO_PIDFILE")"
  rm -f "$MOTO_PIDFILE" "$MOTO_KEYS"
}

moto_status() {
  server_status "s3:      " moto_running moto_answers "$MOTO_PIDFILE" "$(moto_running_port)" \
    "127.0.0.1:$(moto_running_port), bucket $S3_BUCKET (moto)"
}

# ------------------------------------------------------------------ MLflow
# The tracking server and model registry: sqlite in var/mlflow/mlflow.db, artifacts in
# var/mlflow/artifacts served through the server itself (--serve-artifacts), so clients
# need no access to the folder. Kept across restarts, like PostgreSQL's data.
mlflow_running() { pid_alive "$MLFLOW_PIDFILE" "mlflow server"; }
mlflow_running_port() { cat "$MLFLOW_PORTFILE" 2>/dev/null || echo "$MLFLOW_PORT"; }
mlflow_answers() {
  curl -fsS -o /dev/null --max-time 2 -X POST -H 'Content-Type: application/json' -d '{"max_results":1}' \
    "http://127.0.0.1:$1/api/2.0/mlflow/experiments/search" 2>/dev/null
}

mlflow_start() {
  need_cmd curl
  [ -x "$VENV/bin/mlflow" ] || die "mlflow not found in var/venv; run deploy/install-deps.sh"
  if mlflow_running; then
    keep_running_port MLflow MLFLOW_PORT "$(mlflow_running_port)"
    if mlflow_answers "$MLFLOW_PORT"; then
      note "MLflow already running (127.0.0.1:$MLFLOW_PORT)"
      return 0
    fi
  else
    rm -f "$MLFLOW_PIDFILE"
    if port_busy "$MLFLOW_PORT"; then
      die "port 127.0.0.1:$MLFLOW_PORT is already used by another process; stop it or set EXPD_MLFLOW_PORT"
    fi
    mkdir -p "$MLFLOW_DIR/artifacts"
    say "starting MLflow $("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)' 2>/dev/null) on 127.0.0.1:$MLFLOW_PORT"
    echo "$MLFLOW_PORT" >"$MLFLOW_PORTFILE"
    printf '\n==== %s deploy/servers.sh: starting mlflow server on 127.0.0.1:%s\n' "$(date -u +%FT%TZ)" "$MLFLOW_PORT" >>"$MLFLOW_LOG"
    # One worker is plenty for one node and its tests, and starts in seconds. Job
    # execution (GenAI scorers and prompt optimisation, which expd does not use) would
    # start eight more Python processes of about 230 MB each. setsid: the server's
    # own process group, so stop reaches its worker too.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$VENV/bin/mlflow" server \
      --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
      --backend-store-uri "sqlite:///$MLFLOW_DIR/mlflow.db" \
      --serve-artifacts --artifacts-destination "$MLFLOW_DIR/artifacts" \
      </dev/null >>"$MLFLOW_LOG" 2>&1 9>&- &
    echo "$!" >"$MLFLOW_PIDFILE"
  fi
  local pid i; pid="$(pid_of "$MLFLOW_PIDFILE")"
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if mlflow_answers "$MLFLOW_PORT"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log "$MLFLOW_LOG"
      die "mlflow server (pid $pid) exited during startup"
    fi
    sleep 0.5
  done
  tail_log "$MLFLOW_LOG"
  die "MLflow did not answer on 127.0.0.1:$MLFLOW_PORT within ${TIMEOUT}s"
}

mlflow_stop() {
  if ! mlflow_running; then note "MLflow not running"; rm -f "$MLFLOW_PIDFILE"; return 0; fi
  say "stopping MLflow"
  # The whole process group: `mlflow server` and the uvicorn worker it started.
  stop_process "MLflow (process group $(pid_of "$MLFLOW_PIDFILE"))" "-$(pid_of "$MLFLOW_PIDFILE")"
  rm -f "$MLFLOW_PIDFILE"
}

mlflow_status() {
  server_status "mlflow:  " mlflow_running mlflow_answers "$MLFLOW_PIDFILE" "$(mlflow_running_port)" \
    "http://127.0.0.1:$(mlflow_running_port), data $MLFLOW_DIR"
}

# ------------------------------------------------------------- env + token
write_env() {
  if [ ! -s "$TOKEN_FILE" ]; then
    note "generating admin token (var/admin.token)"
    ( umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$TOKEN_FILE.tmp" && mv "$TOKEN_FILE.tmp" "$TOKEN_FILE" )
  fi
  chmod 600 "$TOKEN_FILE"
  local token pg_url test_pg_url redis_url s3_url AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  token="$(tr -d '\n' <"$TOKEN_FILE")"
  pg_url="postgresql://expd@127.0.0.1:$PG_PORT/expd"
  test_pg_url="postgresql://expd_test@127.0.0.1:$PG_PORT/postgres"
  redis_url="redis://127.0.0.1:$REDIS_PORT"
  s3_url="s3://$S3_BUCKET?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1"
  # shellcheck disable=SC1090
  source "$MOTO_KEYS"
  (
    umask 077
    {
      echo "# Written by deploy/servers.sh start. Use: source var/env.sh"
      printf 'export EXPD_PG_URL=%q\n' "$pg_url"
      printf 'export PGPASSFILE=%q\n' "$PG_PASSFILE"
      printf 'export EXPD_TEST_PG_URL=%q\n' "$test_pg_url"
      printf 'export EXPD_REDIS_URL=%q\n' "$redis_url"
      printf 'export EXPD_ADMIN_TOKEN=%q\n' "$token"
      printf 'export EXPD_S3_URL="%s"\n' "$s3_url"
      printf 'export EXPD_TEST_S3_URL="%s"\n' "$s3_url"
      printf 'export AWS_ACCESS_KEY_ID=%q\n' "$AWS_ACCESS_KEY_ID"
      printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$AWS_SECRET_ACCESS_KEY"
      printf 'export MLFLOW_TRACKING_URI=%q\n' "http://127.0.0.1:$MLFLOW_PORT"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
  )
}

# ---------------------------------------------------------------------- main
[ $# -eq 1 ] || usage
mkdir -p "$VAR/log" "$VAR/run" "$VAR/redis"

case "$1" in
  start)
    exec 9>"$VAR/run/servers.lock"
    flock -w 300 9 || die "another deploy/servers.sh holds var/run/servers.lock"
    pg_start
    redis_start
    moto_start
    mlflow_start
    write_env
    say "servers up: PostgreSQL 127.0.0.1:$PG_PORT, Redis 127.0.0.1:$REDIS_PORT, S3 127.0.0.1:$S3_PORT, MLflow http://127.0.0.1:$MLFLOW_PORT (env in var/env.sh)"
    ;;
  stop)
    exec 9>"$VAR/run/servers.lock"
    flock -w 300 9 || die "another deploy/servers.sh holds var/run/servers.lock"
    pg_stop
    redis_stop
    moto_stop
    mlflow_stop
    say "servers stopped"
    ;;
  status)
    rc=0
    pg_status || rc=3
    redis_status || rc=3
    moto_status || rc=3
    mlflow_status || rc=3
    exit "$rc"
    ;;
  *) usage ;;
esac
