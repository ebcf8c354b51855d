#!/usr/bin/env bash
# bench/aggregate_vs_groupby.sh: expd's aggregation of N events against the best plain
# GROUP BY over the same rows, alternating, in one run (docs/benchmarks.md).
#   EXPD_TEST_PG_URL=postgresql://... bench/aggregate_vs_groupby.sh [EVENTS] [UNITS] [DAYS] [ROUNDS]
# Defaults: 10000000 events, 150000 units, 14 days, 3 rounds. Creates (and drops) the
# scratch database expd_bench_agg on that server; needs build/expd and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000} units=${2:-150000} days=${3:-14} rounds=${4:-3}
: "${EXPD_TEST_PG_URL:?set EXPD_TEST_PG_URL (source var/env.sh)}"
db=expd_bench_agg
url="${EXPD_TEST_PG_URL%/*}/$db"
port=${BENCH_PORT:-18977}
work=$(mktemp -d)
export EXPD_ADMIN_TOKEN=bench-admin-token-0123456789
cleanup() {
  [ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null && sleep 1 || true
  # After expd is gone: a database with connections cannot be dropped.
  psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load average at start: $(load) ($(nproc) CPUs)"
psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
# expd migrates the database at start; no periodic pass, so only our requests run.
build/expd --pg="$url" --listen=127.0.0.1:$port --spool-dir="$work/spool" --archive=off \
  --aggregate-interval-ms=0 --log-level=warn >"$work/log" 2>&1 &
echo $! >"$work/pid"
for _ in $(seq 100); do curl -sf localhost:$port/health >/dev/null && break; sleep 0.2; done
start=$(date +%s)
psql "$url" -q -v ON_ERROR_STOP=1 -v events="$events" -v units="$units" -v days="$days" \
  -f bench/aggregate_seed.sql >/dev/null
echo "seeded $events events, $units units, $days days in $(( $(date +%s) - start )) s"
psql "$url" -Atc "SELECT 'exploded metric rows: ' || count(*) FROM exp.events e, unnest(e.experiment_ids) x, jsonb_each(e.metrics) m"

# The best plain GROUP BY we found for the same per-variant per-metric statistics of
# per-unit values (experiment granularity only, where expd also writes hour and day
# rows): per-unit sums, then per variant. jsonb_each_text and the variant array alone
# (a variant names its experiment) made it 1.5x faster than jsonb_each over both arrays.
# Same session settings as expd's pass.
groupby_sql="SET jit = off; SET work_mem = '256MB'; SET TimeZone = 'UTC';
CREATE TEMP TABLE result AS
SELECT variant_id, event_type, metric_name, count(*) AS units, sum(n) AS events,
       sum(v) AS sum, sum(v * v) AS sum_sq, min(v), max(v)
FROM (SELECT c.variant_id, e.event_type, m.key AS metric_name, e.unit_id, count(*) AS n,
             sum(CASE m.value WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE m.value::float8 END) AS v
      FROM exp.events e
      CROSS JOIN LATERAL unnest(e.variant_ids) AS c(variant_id)
      CROSS JOIN LATERAL jsonb_each_text(e.metrics) AS m
      GROUP BY 1, 2, 3, 4) u
GROUP BY 1, 2, 3;"

now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@" >/dev/null; echo "$(now) - $t0" | bc -l; }
# Each round times the GROUP BY twice, with the planner's own plan (a sort on this
# machine) and with enable_sort=off (hash aggregation in parallel workers), and takes
# the faster as "the best plain GROUP BY" of that round.
ratios=()
for r in $(seq "$rounds"); do
  g1=$(timed psql "$url" -q -v ON_ERROR_STOP=1 -c "$groupby_sql")
  g2=$(timed psql "$url" -q -v ON_ERROR_STOP=1 -c "SET enable_sort = off; $groupby_sql")
  t1=$(now)
  answer=$(curl -sf -XPOST -H "Authorization: Bearer $EXPD_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' localhost:$port/admin/v1/aggregate \
    -d '{"from":"2025-02-28T00:00:00Z","to":"2025-04-01T00:00:00Z"}')
  a=$(echo "$(now) - $t1" | bc -l)
  g=$(echo "if ($g1 < $g2) $g1 else $g2" | bc -l)
  ratio=$(echo "$a / $g" | bc -l)
  ratios+=("$ratio")
  printf 'round %d: group by %.2f s (planner) / %.2f s (hash), expd aggregate %.2f s, ratio %.2f  %s\n' \
    "$r" "$g1" "$g2" "$a" "$ratio" "$answer"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
printf 'median ratio (expd / best group by): %.2f\n' "$median"
echo "load average at end: $(load)"
