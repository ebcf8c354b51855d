-- Daily partitions are made ahead by their own actor, not by the loader, and without
-- the lock that CREATE TABLE ... PARTITION OF takes on exp.events: a reader's long
-- query held that lock's queue and the loader waited behind it. ATTACH PARTITION
-- takes only SHARE UPDATE EXCLUSIVE on exp.events (readers and COPY go on); it still
-- needs the default partition exclusively, which the caller bounds with lock_timeout.

-- Makes the partition of day `d` unless it exists. Returns 'created', 'exists', or
-- 'default_holds_rows' when events of that day already sit in exp.events_default (it
-- was missing when they were loaded): they stay there, still read through exp.events.
CREATE OR REPLACE FUNCTION exp.attach_event_partition(d date)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  part text := 'events_' || to_char(d, 'YYYYMMDD');
  lo timestamptz := d::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF to_regclass('exp.' || part) IS NOT NULL THEN
    RETURN 'exists';
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE exp.%I (LIKE exp.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format('ALTER TABLE exp.events ATTACH PARTITION exp.%I FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
  EXCEPTION WHEN check_violation THEN
    RETURN 'default_holds_rows';
  END;
  RETURN 'created';
END $$;

-- The same, for every day of [from_day, to_day]; returns how many it created.
CREATE OR REPLACE FUNCTION exp.ensure_event_partitions(from_day date, to_day date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  d date := from_day;
  created integer := 0;
BEGIN
  WHILE d <= to_day LOOP
    IF exp.attach_event_partition(d) = 'created' THEN
      created := created + 1;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END $$;

-- A reader's query ends within a minute, so it cannot hold the partitions' locks for
-- long. Role settings apply to the role that logs in: members of expd_readonly that
-- log in themselves (docs/metabase.md) set their own.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'expd_readonly') THEN
    ALTER ROLE expd_readonly SET statement_timeout = '60s';
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'expd_readonly keeps its settings (needs CREATEROLE); see docs/metabase.md';
END $$;
