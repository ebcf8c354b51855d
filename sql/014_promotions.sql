-- Promotions of candidate models through experiments (spec 11, docs/lifecycle.md#promotion):
-- one row per promotion with where it stands, and every step it took.
CREATE TABLE IF NOT EXISTS exp.promotions (
  id                   uuid PRIMARY KEY,
  experiment_id        uuid NOT NULL REFERENCES exp.experiments (id) ON DELETE CASCADE,
  experiment_name      text NOT NULL,
  variant_name         text NOT NULL,
  baseline_variant     text NOT NULL,
  mlflow_model_name    text NOT NULL,
  mlflow_model_version integer NOT NULL,
  policy_version_id    uuid NOT NULL REFERENCES exp.policy_versions (id),
  request              jsonb NOT NULL, -- core::promotion_request_json
  status               text NOT NULL CHECK (status IN ('active', 'completed', 'rolled_back')),
  step_index           integer NOT NULL DEFAULT 0,
  allocation           double precision NOT NULL,
  step_started_at      timestamptz NOT NULL,
  last_decision        text NOT NULL DEFAULT '',
  last_reading         jsonb NOT NULL DEFAULT '{}'::jsonb,
  checked_at           timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  finished_at          timestamptz
);

-- At most one promotion runs in an experiment at a time.
CREATE UNIQUE INDEX IF NOT EXISTS promotions_one_active
  ON exp.promotions (experiment_id) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS exp.promotion_events (
  promotion_id uuid NOT NULL REFERENCES exp.promotions (id) ON DELETE CASCADE,
  seq          integer NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  kind         text NOT NULL, -- started, raised, rolled_back, completed, refused
  allocation   double precision NOT NULL,
  reason       text NOT NULL,
  reading      jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (promotion_id, seq)
);
