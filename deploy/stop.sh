#!/usr/bin/env bash
# deploy/stop.sh: stops everything deploy/run.sh started: the TLS front, expd (if
# running, SIGTERM so it drains), then PostgreSQL, Redis and S3 (moto). Safe to run repeatedly.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash deploy/tls-front.sh stop
bash deploy/expd.sh stop
bash deploy/servers.sh stop
