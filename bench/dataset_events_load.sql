-- Loads events.ndjson of expd-planning-corpus --format=domain straight into exp.events,
-- for the benchmark only (bench/dataset_build_vs_python.sh): millions of events through
-- POST /v1/events would time the API, not the build. psql -v dir=DIR -f this file.
\cd :dir
CREATE TEMP TABLE staged_events (doc jsonb NOT NULL);
-- CSV with quote and delimiter bytes no JSON line holds: each line is one value.
\copy staged_events FROM 'events.ndjson' (FORMAT csv, QUOTE e'\x01', DELIMITER e'\x02')
INSERT INTO exp.events (event_id, occurred_at, received_at, event_type, unit_type, unit_id, context, metrics)
SELECT (doc->>'event_id')::uuid, (doc->>'timestamp')::timestamptz, now(), doc->>'event_type',
       doc->>'unit_type', doc->>'unit_id', doc->'context', coalesce(doc->'metrics', '{}'::jsonb)
  FROM staged_events;
ANALYZE exp.events;
