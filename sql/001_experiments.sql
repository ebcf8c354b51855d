-- Experiments and their variants (onboarding spec, 4.1).
CREATE SCHEMA IF NOT EXISTS exp;

CREATE TABLE IF NOT EXISTS exp.experiments (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  unit_type   text NOT NULL,
  description text NOT NULL DEFAULT '',
  status      text NOT NULL DEFAULT 'draft'
              CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
  -- Bucketing salt; defaults to the name so re-applying the YAML anywhere gives the
  -- same assignments.
  salt        text NOT NULL,
  condition   jsonb,
  start_at    timestamptz, -- first time the experiment ran
  end_at      timestamptz, -- when it stopped
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS exp.variants (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  experiment_id uuid NOT NULL REFERENCES exp.experiments (id) ON DELETE CASCADE,
  name          text NOT NULL,
  -- Variants take consecutive bucket ranges in this order.
  position      integer NOT NULL,
  allocation    double precision NOT NULL CHECK (allocation >= 0 AND allocation <= 1),
  config        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (experiment_id, name)
);
