-- One row per unit and experiment: the variant it got, written behind the reply.
CREATE TABLE IF NOT EXISTS exp.assignments (
  experiment_id uuid NOT NULL REFERENCES exp.experiments (id) ON DELETE CASCADE,
  unit_id       text NOT NULL,
  unit_type     text NOT NULL,
  variant_id    uuid NOT NULL REFERENCES exp.variants (id) ON DELETE CASCADE,
  -- The salt the variant was drawn under; a row of an older salt no longer binds.
  salt          text NOT NULL,
  assigned_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, unit_id)
);

CREATE INDEX IF NOT EXISTS assignments_variant_idx ON exp.assignments (variant_id);
