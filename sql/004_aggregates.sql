-- Aggregates (onboarding spec 4.2, 7.1 and 12): per-unit sufficient statistics per
-- experiment, variant and metric, by hour, day and for the experiment so far; the
-- exposures they are divided by; the aggregator's cursor; the policy registry the
-- dashboards join through; and the views Metabase reads. docs/aggregation.md.

-- One row per (experiment, variant, event type, metric, granularity, bucket). Every
-- statistic is over PER-UNIT values (exp.event_types.metrics.<m>.per_unit), not events.
-- A pass replaces whole rows (never increments), so recomputing is idempotent.
CREATE TABLE IF NOT EXISTS exp.metric_aggregates (
  experiment_id     uuid NOT NULL REFERENCES exp.experiments (id) ON DELETE CASCADE,
  variant_id        uuid NOT NULL REFERENCES exp.variants (id) ON DELETE CASCADE,
  event_type        text NOT NULL,
  metric_name       text NOT NULL,
  -- 'hour' and 'day': UTC buckets for trends; 'experiment': cumulative over the
  -- experiment so far (bucket_start = the epoch), what results read.
  granularity       text NOT NULL CHECK (granularity IN ('hour', 'day', 'experiment')),
  bucket_start      timestamptz NOT NULL,
  per_unit          text NOT NULL CHECK (per_unit IN ('sum', 'any', 'mean')),
  -- n. sum and any: units exposed to the variant (for hour and day: assigned before the
  -- bucket's end), a unit without events being a 0; mean: units with events.
  units             bigint NOT NULL,
  units_with_events bigint NOT NULL,
  events            bigint NOT NULL, -- events that carried the metric
  sum               double precision NOT NULL, -- of per-unit values
  sum_sq            double precision NOT NULL, -- of squared per-unit values
  min               double precision,          -- of per-unit values of units with events
  max               double precision,
  mean              double precision,          -- sum / units
  -- CUPED: the same metric per unit in a pre-period before the experiment's start.
  -- NULL until experiments configure a pre-period (docs/aggregation.md).
  units_x           bigint,
  sum_x             double precision,
  sum_x_sq          double precision,
  sum_xy            double precision,
  computed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, variant_id, event_type, metric_name, granularity, bucket_start)
);

-- Trend charts read one experiment's hour or day rows in time order.
CREATE INDEX IF NOT EXISTS metric_aggregates_series_idx
  ON exp.metric_aggregates (experiment_id, granularity, bucket_start);

-- Units assigned per variant: new in each hour and day bucket (units) and assigned
-- before the bucket's end (units_cumulative); 'experiment' holds the total. Results and
-- the sample-ratio check read these instead of scanning exp.assignments.
CREATE TABLE IF NOT EXISTS exp.exposure_aggregates (
  experiment_id    uuid NOT NULL REFERENCES exp.experiments (id) ON DELETE CASCADE,
  variant_id       uuid NOT NULL REFERENCES exp.variants (id) ON DELETE CASCADE,
  granularity      text NOT NULL CHECK (granularity IN ('hour', 'day', 'experiment')),
  bucket_start     timestamptz NOT NULL,
  units            bigint NOT NULL,
  units_cumulative bigint NOT NULL,
  computed_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, variant_id, granularity, bucket_start)
);

-- How far the periodic pass has seen exp.events: the latest received_at it read.
CREATE TABLE IF NOT EXISTS exp.aggregate_cursors (
  name          text PRIMARY KEY,
  received_upto timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Policies and their versions (spec 4.3, 11.1), minimal: a variant's config names a
-- version by "policy_version_id"; the lifecycle issue fills these from MLflow.
CREATE TABLE IF NOT EXISTS exp.policies (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS exp.policy_versions (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  policy_id            uuid NOT NULL REFERENCES exp.policies (id) ON DELETE CASCADE,
  version              integer NOT NULL,
  mlflow_model_name    text NOT NULL,
  mlflow_model_version text NOT NULL,
  config_defaults      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (policy_id, version)
);

-- Offline replay scores (spec 10, step 6), minimal, so the "Offline vs Online
-- Evaluation Trends" dashboard has its offline side; the replay issue writes it.
CREATE TABLE IF NOT EXISTS exp.offline_replay_results (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  policy_version_id uuid NOT NULL REFERENCES exp.policy_versions (id) ON DELETE CASCADE,
  dataset           text NOT NULL,
  metric_name       text NOT NULL, -- plan_alignment_score, constraint_respect_score, ...
  value             double precision NOT NULL,
  evaluated_at      timestamptz NOT NULL DEFAULT now()
);

-- The spec's example view (12.2), as written there.
CREATE OR REPLACE VIEW exp.v_experiment_metrics AS
SELECT
  e.name AS experiment_name,
  v.name AS variant_name,
  m.metric_name,
  m.mean,
  m.bucket_start
FROM exp.metric_aggregates m
JOIN exp.variants v ON v.id = m.variant_id
JOIN exp.experiments e ON e.id = m.experiment_id;

-- Aggregates joined with the policy version (and MLflow model) each variant serves,
-- through the variant config's policy_version_id; variants without one get NULLs.
CREATE OR REPLACE VIEW exp.v_policy_metrics AS
SELECT
  e.id AS experiment_id,
  e.name AS experiment_name,
  e.status AS experiment_status,
  v.id AS variant_id,
  v.name AS variant_name,
  v.allocation,
  v.config ->> 'policy_version_id' AS policy_version_id,
  p.name AS policy_name,
  pv.version AS policy_version,
  pv.mlflow_model_name,
  pv.mlflow_model_version,
  pv.config_defaults,
  m.event_type,
  m.metric_name,
  m.per_unit,
  m.granularity,
  m.bucket_start,
  m.units,
  m.units_with_events,
  m.events,
  m.sum,
  m.sum_sq,
  m.mean,
  m.min,
  m.max,
  m.computed_at
FROM exp.metric_aggregates m
JOIN exp.variants v ON v.id = m.variant_id
JOIN exp.experiments e ON e.id = m.experiment_id
LEFT JOIN exp.policy_versions pv ON pv.id::text = v.config ->> 'policy_version_id'
LEFT JOIN exp.policies p ON p.id = pv.policy_id;

-- A read-only role for Metabase and analysts (docs/metabase.md): a login role joins it
-- with `CREATE ROLE metabase LOGIN PASSWORD '...' IN ROLE expd_readonly`. Roles belong
-- to the server, not the database, and creating one needs CREATEROLE: without it the
-- migration goes on and the docs give the SQL to run as a superuser.
DO $$
BEGIN
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'expd_readonly') THEN
      CREATE ROLE expd_readonly NOLOGIN;
    END IF;
  EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL; -- another database's migration made it
  END;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO expd_readonly', current_database());
  GRANT USAGE ON SCHEMA exp TO expd_readonly;
  GRANT SELECT ON ALL TABLES IN SCHEMA exp TO expd_readonly;
  ALTER DEFAULT PRIVILEGES IN SCHEMA exp GRANT SELECT ON TABLES TO expd_readonly;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'expd_readonly not set up (needs CREATEROLE); see docs/metabase.md';
END $$;
