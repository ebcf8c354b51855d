#!/usr/bin/env bash
# bench/results_latency.sh: how fast GET /v1/experiments/{id}/results answers for an
# experiment with 20 metrics and 3 variants, read from the stored aggregates (issue 15's
# ceiling: p99 10 ms with CUPED and the power block). Seeds the aggregate rows directly
# (what a pass would write, CUPED covariate sums included), gives the metrics roles
# (5 goals, 5 secondary, 5 guardrails, 5 exploratory; 5 lower-is-better), then wrk
# with one connection for a few seconds. Usage: bench/results_latency.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
source var/env.sh
duration=${1:-5}
db=expd_bench_results
port=18978
base="${EXPD_TEST_PG_URL%/*}"
work=$(mktemp -d)
cleanup() {
  [ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null && wait "$(cat "$work/pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
PGOPTIONS="-c client_min_messages=warning" psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
build/expd --pg="$base/$db" --listen=127.0.0.1:$port --log-level=warn --spool-dir="$work/spool" \
  --archive=off --aggregate-interval-ms=0 >/dev/null 2>"$work/log" &
echo $! >"$work/pid"
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
export EXPD_SERVER=http://127.0.0.1:$port
{
  echo "event_types:"
  echo "  - name: bench"
  echo "    metrics:"
  for m in $(seq 1 20); do
    if [ "$m" -gt 15 ]; then echo "      metric_$m: {type: boolean}";
    elif [ "$m" -gt 10 ]; then echo "      metric_$m: {type: number}";
    else echo "      metric_$m: {type: number, per_unit: mean$([ "$m" -le 5 ] && echo ', better: lower')}"; fi
  done
} >"$work/types.yml"
build/expctl apply -f "$work/types.yml" >/dev/null
cat >"$work/exp.yml" <<YML
experiments:
  - name: bench_results
    unit_type: user
    status: running
    metrics:
      goals: [bench.metric_16, bench.metric_17, bench.metric_18, bench.metric_1, bench.metric_11]
      secondary: [bench.metric_2, bench.metric_3, bench.metric_12, bench.metric_13, bench.metric_19]
      guardrails:
        - {metric: bench.metric_4, margin: 0.02}
        - {metric: bench.metric_5, margin: 0.02}
        - {metric: bench.metric_6, margin: 0.05}
        - {metric: bench.metric_14, margin: 0.05}
        - bench.metric_20
    variants:
      - {name: control, allocation: 0.34}
      - {name: b, allocation: 0.33}
      - {name: c, allocation: 0.33}
YML
build/expctl apply -f "$work/exp.yml" >/dev/null
id=$(psql "$base/$db" -Atc "SELECT id FROM exp.experiments WHERE name = 'bench_results'")
# 20 metrics per variant (10 means, 5 sums, 5 conversions) over 100,000 units each.
psql "$base/$db" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO exp.exposure_aggregates (experiment_id, variant_id, granularity, bucket_start, units, units_cumulative)
SELECT experiment_id, id, 'experiment', 'epoch', 100000, 100000 FROM exp.variants WHERE experiment_id = '$id';
INSERT INTO exp.metric_aggregates (experiment_id, variant_id, event_type, metric_name, granularity,
  bucket_start, per_unit, units, units_with_events, events, sum, sum_sq, min, max, mean)
SELECT v.experiment_id, v.id, 'bench', 'metric_' || m, 'experiment', 'epoch',
       CASE WHEN m <= 10 THEN 'mean' WHEN m <= 15 THEN 'sum' ELSE 'any' END,
       100000, 60000, 250000,
       CASE WHEN m > 15 THEN 30000 + 100 * r ELSE 100000 * (50 + m + r) END,
       CASE WHEN m > 15 THEN 30000 + 100 * r ELSE 100000 * ((50 + m + r) ^ 2 + 25) END,
       0, 1000, CASE WHEN m > 15 THEN 0.3 ELSE 50 + m + r END
FROM (SELECT *, row_number() OVER (ORDER BY name) - 1 AS r FROM exp.variants WHERE experiment_id = '$id') v,
     generate_series(1, 20) m;
-- A pre-period covariate for every metric: CUPED runs on all 40 comparisons.
UPDATE exp.metric_aggregates SET units_x = units, sum_x = 0.9 * sum, sum_x_sq = 0.8 * sum_sq,
  sum_xy = 0.8 * sum_sq WHERE experiment_id = '$id';
SQL
curl -fsS "http://127.0.0.1:$port/v1/experiments/$id/results" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = [m["vs_control"] for v in d["variants"] for m in v["metrics"] if "vs_control" in m]
print("metrics per variant:", len(d["variants"][0]["metrics"]), " variants:", len(d["variants"]),
      " with CUPED:", sum("cuped" in x for x in c), " with power:", sum("power" in x for x in c),
      " families:", d["multiple_testing"]["families"])'
wrk -t1 -c1 -d"${duration}s" --latency "http://127.0.0.1:$port/v1/experiments/$id/results" >"$work/wrk.txt"
grep -E "Non-2xx" "$work/wrk.txt" || true
awk '/Requests\/sec/ {print "requests/s: " $2} $1 == "50%" {print "p50: " $2} $1 == "99%" {print "p99: " $2 " (ceiling 10 ms)"}' "$work/wrk.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
