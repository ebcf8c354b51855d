#!/usr/bin/env bash
# bench/dataset_build_vs_python.sh: expd's dataset build from N events against the
# pipeline a Python team would write (the same join query, sql/domain/planner_dataset.sql,
# exported with psql's COPY ... TO STDOUT and written as the same Parquet by pyarrow:
# bench/dataset_write_parquet.py), alternating, in one run (docs/benchmarks.md).
#   EXPD_TEST_PG_URL=postgresql://... bench/dataset_build_vs_python.sh [EVENTS] [ROUNDS]
# Defaults: 10000000 events, 2 rounds. Creates (and drops) the scratch database
# expd_bench_datasets on that server; needs build/expd, build/expd-planning-corpus,
# psql and var/venv (pyarrow; xxhash is installed into var/bench-py when missing).
# Disk: about 2.5 KB per event in the scratch folder ($TMPDIR) and the database.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000} rounds=${2:-2}
: "${EXPD_TEST_PG_URL:?set EXPD_TEST_PG_URL (source var/env.sh)}"
db=expd_bench_datasets
url="${EXPD_TEST_PG_URL%/*}/$db"
port=${BENCH_PORT:-18978}
work=$(mktemp -d)
export EXPD_ADMIN_TOKEN=bench-admin-token-0123456789
py=var/venv/bin/python
cleanup() {
  [ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null && sleep 1 || true
  psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -d var/bench-py/xxhash ] || "$py" -m pip install --quiet --target var/bench-py xxhash
export PYTHONPATH=$PWD/var/bench-py

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# About 1.9 events an example (a tenth get no answer); 28 days hold them all.
examples=$(( events * 10 / 19 ))
scale=$(( examples / 900 + 1 ))
t0=$(date +%s)
build/expd-planning-corpus --format=domain --rows="$examples" --seed=11 --start=2025-01-06T00:00:00Z \
  --time-scale="$scale" --out="$work/domain"
echo "generated $examples examples ($(wc -l <"$work/domain/events.ndjson") events) in $(( $(date +%s) - t0 )) s"

psql "$EXPD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
# expd migrates the database at start; nothing else runs against it during the timing.
build/expd --pg="$url" --listen=127.0.0.1:$port --spool-dir="$work/spool" --archive=off \
  --aggregate-interval-ms=0 --datasets="$work/store" --log-level=warn >"$work/log" 2>&1 &
echo $! >"$work/pid"
for _ in $(seq 100); do curl -sf localhost:$port/health >/dev/null && break; sleep 0.2; done
t0=$(date +%s)
psql "$url" -q -v ON_ERROR_STOP=1 -c "SELECT exp.ensure_event_partitions('2025-01-01', '2025-03-01')" >/dev/null
psql "$url" -q -v ON_ERROR_STOP=1 -f sql/domain/planner_schema.sql
psql "$url" -q -v ON_ERROR_STOP=1 -v dir="$work/domain" -f sql/domain/planner_seed.sql
psql "$url" -q -v ON_ERROR_STOP=1 -v dir="$work/domain" -f bench/dataset_events_load.sql
psql "$url" -qc "VACUUM ANALYZE exp.events"
echo "loaded $(psql "$url" -Atc 'SELECT count(*) FROM exp.events') events and the domain rows in $(( $(date +%s) - t0 )) s"
rm -rf "$work/domain"

from=2025-01-06 to=2025-02-06
{ echo "COPY ("; cat sql/domain/planner_dataset.sql; echo ") TO STDOUT (FORMAT csv, HEADER);"; } >"$work/copy.sql"
now() { date +%s.%N; }
expd_build() {
  local answer
  answer=$(curl -sf --max-time 7200 -H "Authorization: Bearer $EXPD_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"planner\",\"from\":\"$from\",\"to\":\"$to\",\"validation\":0.1}" \
    "localhost:$port/admin/v1/datasets")
  echo "$answer" >"$work/manifest.json"
}
python_build() {
  psql "$url" -X -q -v ON_ERROR_STOP=1 -v from="$from" -v to="$to" -f "$work/copy.sql" |
    "$py" bench/dataset_write_parquet.py "$work/python.parquet" 0.1 >"$work/python.rows"
}
ratios=()
for round in $(seq "$rounds"); do
  # Each round builds a new version of expd's (another validation fraction would
  # change the rows; the same rows answer the stored version without building).
  psql "$url" -qc "DELETE FROM exp.datasets"
  rm -rf "$work/store/datasets"
  t=$(now); expd_build; e=$(echo "$(now) - $t" | bc -l)
  t=$(now); python_build; p=$(echo "$(now) - $t" | bc -l)
  rows=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['rows'])" "$work/manifest.json")
  ratio=$(echo "$e / $p" | bc -l)
  ratios+=("$ratio")
  printf 'round %d: expd %.1f s (%s rows), python %.1f s (%s rows), expd/python %.2f\n' \
    "$round" "$e" "$rows" "$p" "$(cat "$work/python.rows")" "$ratio"
done
file=$(find "$work/store/datasets" -name training.parquet)
"$py" - "$file" "$work/python.parquet" <<'PY'
import sys
import pyarrow.parquet as pq
a, b = (pq.ParquetFile(p) for p in sys.argv[1:3])
same = a.schema_arrow == b.schema_arrow and a.metadata.num_rows == b.metadata.num_rows
if a.metadata.num_rows <= 1_000_000:
    same = same and pq.read_table(sys.argv[1]).equals(pq.read_table(sys.argv[2]))
print(f"same schema and rows{' and values' if a.metadata.num_rows <= 1_000_000 else ''}: {same}; "
      f"sizes {a.metadata.serialized_size} / {b.metadata.serialized_size} footer bytes")
PY
printf 'expd/python per round: %s\n' "${ratios[*]}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
