#!/usr/bin/env bash
# deploy/tls-front.sh start|stop|status: HTTPS for clients. nginx (Debian's
# nginx-light) terminates TLS on 127.0.0.1:${EXPD_TLS_PORT:-8443} and passes each
# request to expd on ${EXPD_TLS_UPSTREAM:-127.0.0.1:8080} over keep-alive connections.
# Without a certificate of your own (EXPD_TLS_CERT + EXPD_TLS_KEY, PEM) it makes a
# self-signed one for 127.0.0.1/localhost once. State under var/tls/ (EXPD_TLS_DIR).
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT="${EXPD_TLS_PORT:-8443}"
UPSTREAM="${EXPD_TLS_UPSTREAM:-127.0.0.1:${EXPD_PORT:-8080}}"
DIR="${EXPD_TLS_DIR:-$VAR/tls}"
CERT="${EXPD_TLS_CERT:-$DIR/cert.pem}"
KEY="${EXPD_TLS_KEY:-$DIR/key.pem}"
PIDFILE="$DIR/nginx.pid"
CONF="$DIR/nginx.conf"
LOG="$DIR/nginx.log"

usage() { echo "usage: $0 start|stop|status" >&2; exit 2; }
running() { pid_alive "$PIDFILE" nginx; }

make_cert() {
  [ -s "$CERT" ] && [ -s "$KEY" ] && return 0
  [ -z "${EXPD_TLS_CERT:-}" ] || die "EXPD_TLS_CERT=$CERT or EXPD_TLS_KEY=$KEY is missing or empty"
  need_cmd openssl
  note "making a self-signed certificate for 127.0.0.1 and localhost ($CERT)"
  ( umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj "/CN=expd local" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$KEY" -out "$CERT" >"$DIR/openssl.log" 2>&1 ) \
    || { tail_log "$DIR/openssl.log"; die "openssl could not make the certificate"; }
}

write_conf() {
  # Clients' requests reach expd as they were sent; the front adds only where they
  # came from. TLS 1.2 and 1.3 only.
  cat >"$CONF" <<NGINX
worker_processes 1;
pid $PIDFILE;
error_log $LOG warn;
events { worker_connections 4096; }
http {
  access_log off;
  # Bodies stay in memory: workers run as nobody when started as root, and need no
  # folder of ours.
  client_body_buffer_size 2m;
  client_max_body_size 2m;
  upstream expd { server $UPSTREAM; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT ssl http2;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:expd_tls:10m;
    location / {
      proxy_pass http://expd;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_buffering off;
    }
  }
}
NGINX
}

do_start() {
  need_cmd nginx
  mkdir -p "$DIR"
  if running; then note "TLS front already running (https://127.0.0.1:$PORT)"; return 0; fi
  make_cert
  write_conf
  nginx -t -q -e "$LOG" -c "$CONF" -p "$DIR" 2>>"$LOG" || { tail_log "$LOG"; die "nginx refused $CONF"; }
  nginx -e "$LOG" -c "$CONF" -p "$DIR" 2>>"$LOG" </dev/null 9>&- || { tail_log "$LOG"; die "nginx did not start"; }
  local i
  for ((i = 0; i < 40; i++)); do
    running && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.25
  done
  running || { tail_log "$LOG"; die "nginx did not start"; }
  say "TLS front on https://127.0.0.1:$PORT -> http://$UPSTREAM (certificate $CERT)"
}

do_stop() {
  if ! running; then note "TLS front not running"; rm -f "$PIDFILE"; return 0; fi
  local pid i; pid="$(pid_of "$PIDFILE")"
  kill -QUIT "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  rm -f "$PIDFILE"
  say "TLS front stopped"
}

[ $# -eq 1 ] || usage
case "$1" in
  start) do_start ;;
  stop) do_stop ;;
  status) if running; then echo "tls-front: running, https://127.0.0.1:$PORT -> $UPSTREAM"; else echo "tls-front: stopped"; exit 3; fi ;;
  *) usage ;;
esac
