#!/usr/bin/env bash
# deploy/cluster-certs.sh [--dir DIR] [--foreign] NAME...: certificates for TLS between
# cluster nodes (docs/operations.md#tls-between-nodes). Makes, once, a cluster CA
# (DIR/ca.pem, DIR/ca.key) and for each node NAME DIR/NAME.pem + DIR/NAME.key (CN=NAME,
# subjectAltName IP:127.0.0.1, DNS:NAME), signed by that CA. Every DNS name of a node's
# certificate names the node (expd checks a peer's name against them), so it holds none
# but NAME. --foreign
# makes them under DIR/foreign/ with a second CA instead: nodes the cluster must refuse
# (tests). DIR defaults to var/cluster-tls (EXPD_CLUSTER_TLS_DIR). Keys are 0600 and
# have no passphrase (CAF reads them unattended). Running it again keeps what is valid.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

usage() { echo "usage: $0 [--dir DIR] [--foreign] NAME..." >&2; exit 2; }

DIR="${EXPD_CLUSTER_TLS_DIR:-$VAR/cluster-tls}"
FOREIGN=0
NAMES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || usage; DIR="$2"; shift 2 ;;
    --dir=*) DIR="${1#--dir=}"; shift ;;
    --foreign) FOREIGN=1; shift ;;
    -*) usage ;;
    *) NAMES+=("$1"); shift ;;
  esac
done
[ ${#NAMES[@]} -gt 0 ] || usage
[ "$FOREIGN" -eq 0 ] || DIR="$DIR/foreign"
need_cmd openssl
mkdir -p "$DIR"
LOG="$DIR/openssl.log"
DAYS="${EXPD_CLUSTER_CERT_DAYS:-825}"

run_openssl() { openssl "$@" >>"$LOG" 2>&1 || { tail_log "$LOG"; die "openssl $1 failed (see $LOG)"; }; }

# The CA's subject names the folder, so two CAs made by this script never look alike.
make_ca() {
  if [ -s "$DIR/ca.pem" ] && [ -s "$DIR/ca.key" ] \
     && openssl x509 -in "$DIR/ca.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  note "making the cluster CA $DIR/ca.pem"
  local subject="/CN=expd cluster CA $(date -u +%Y%m%dT%H%M%SZ) $RANDOM"
  [ "$FOREIGN" -eq 0 ] || subject="/CN=expd foreign CA $(date -u +%Y%m%dT%H%M%SZ) $RANDOM"
  ( umask 077; run_openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$DIR/ca.key" )
  run_openssl req -x509 -new -key "$DIR/ca.key" -days "$DAYS" -subj "$subject" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$DIR/ca.pem"
  chmod 600 "$DIR/ca.key"
}

# A node's certificate is kept while the CA verifies it and it does not expire within a day.
make_node() {
  local name="$1" cert="$DIR/$1.pem" key="$DIR/$1.key"
  case "$name" in
    ''|-*|.*|*[!a-z0-9._-]*) die "node name '$name' must be 1-63 of a-z 0-9 - _ . (as --node-name)" ;;
  esac
  if [ -s "$cert" ] && [ -s "$key" ] \
     && openssl verify -CAfile "$DIR/ca.pem" "$cert" >/dev/null 2>&1 \
     && openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  note "making the certificate of node $name ($cert)"
  ( umask 077; run_openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$key" )
  local ext="$DIR/$name.ext"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=IP:127.0.0.1,DNS:$name" >"$ext"
  run_openssl req -new -key "$key" -subj "/CN=$name" -out "$DIR/$name.csr"
  run_openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -CAcreateserial -days "$DAYS" -extfile "$ext" -out "$cert"
  rm -f "$DIR/$name.csr" "$ext"
  chmod 600 "$key"
}

make_ca
for name in "${NAMES[@]}"; do make_node "$name"; done
say "cluster certificates in $DIR (CA ca.pem; nodes: ${NAMES[*]})"
