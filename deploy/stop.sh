#!/usr/bin/env bash
# deploy/stop.sh: stops everything deploy/run.sh started: the TLS front, the trainer, expd and the
# cluster nodes of deploy/cluster.sh (if running, SIGTERM so they drain), then
# PostgreSQL, Redis, S3 (moto) and MLflow. Safe to run repeatedly.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash deploy/tls-front.sh stop
bash deploy/trainer.sh stop
bash deploy/expd.sh stop
bash deploy/cluster.sh stop
bash deploy/servers.sh stop
