-- Event ingestion (onboarding spec 4.2 and 6): known event types, the events
-- themselves partitioned by day of their timestamp, and the loader's progress.

-- Event types and the metrics each may carry (applied from event_types.yml).
CREATE TABLE IF NOT EXISTS exp.event_types (
  name        text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  -- {"latency_ms":{"type":"number","min":0,"unit":"ms"}}
  metrics     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per event. The key includes the partition column, as PostgreSQL requires
-- of a partitioned table: a client's retry repeats both its event_id and timestamp.
CREATE TABLE IF NOT EXISTS exp.events (
  event_id       uuid NOT NULL,
  occurred_at    timestamptz NOT NULL, -- the event's "timestamp"
  received_at    timestamptz NOT NULL,
  event_type     text NOT NULL,
  unit_type      text NOT NULL,
  unit_id        text NOT NULL,
  -- Parallel arrays: variant_ids[i] is the variant of experiment_ids[i].
  experiment_ids uuid[] NOT NULL DEFAULT '{}',
  variant_ids    uuid[] NOT NULL DEFAULT '{}',
  context        jsonb NOT NULL DEFAULT '{}'::jsonb,
  metrics        jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Catches events of a day whose partition was detached for retention, so loading
-- never stops on a missing partition.
CREATE TABLE IF NOT EXISTS exp.events_default PARTITION OF exp.events DEFAULT;

-- Recent events of a unit (GET /v1/events?unit_id=...).
CREATE INDEX IF NOT EXISTS events_unit_idx ON exp.events (unit_id, occurred_at);
-- Time windows (GET /v1/events?experiment_id=..., aggregation): events arrive nearly in
-- time order, so a BRIN index finds a window at almost no cost to loading.
CREATE INDEX IF NOT EXISTS events_time_idx ON exp.events USING brin (occurred_at);

-- Creates the daily partitions exp.events_YYYYMMDD covering [from_day, to_day].
CREATE OR REPLACE FUNCTION exp.ensure_event_partitions(from_day date, to_day date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  d date := from_day;
  created integer := 0;
  part text;
BEGIN
  WHILE d <= to_day LOOP
    part := 'events_' || to_char(d, 'YYYYMMDD');
    IF to_regclass('exp.' || part) IS NULL THEN
      EXECUTE format('CREATE TABLE exp.%I PARTITION OF exp.events FOR VALUES FROM (%L) TO (%L)',
                     part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END $$;

-- Detaches (does not drop) the daily partitions that end on or before `before_day`, for
-- retention: the operator archives or drops the detached tables. Returns their names.
CREATE OR REPLACE FUNCTION exp.detach_event_partitions(before_day date)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  part record;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = 'exp' AND p.relname = 'events'
       AND c.relname ~ '^events_[0-9]{8}$'
       AND to_date(substr(c.relname, 8), 'YYYYMMDD') < before_day
     ORDER BY c.relname
  LOOP
    EXECUTE format('ALTER TABLE exp.events DETACH PARTITION exp.%I', part.relname);
    RETURN NEXT part.relname;
  END LOOP;
END $$;

-- How far each spool has been loaded; advanced in the transaction that loads the
-- events, so a replay after a crash neither loses nor repeats a batch.
CREATE TABLE IF NOT EXISTS exp.ingest_cursors (
  spool_id   uuid PRIMARY KEY,
  loaded_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Spool records the loader did not store because the table already held the event
-- (a client's retry): the archive skips them too, so it matches the table.
CREATE TABLE IF NOT EXISTS exp.ingest_skipped (
  spool_id uuid NOT NULL,
  seq      bigint NOT NULL,
  event_id uuid NOT NULL,
  PRIMARY KEY (spool_id, seq)
);
