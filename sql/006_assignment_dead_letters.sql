-- First-time assignments PostgreSQL refused to store (issue 10): the writer moves
-- each refused row here, with the error, so it no longer holds back the rows behind
-- it. Text fields are bytea, which holds any bytes (the refused value may be a NUL or
-- invalid UTF-8); no foreign keys, as a vanished experiment can be the reason.
CREATE TABLE IF NOT EXISTS exp.assignment_dead_letters (
  id               bigserial PRIMARY KEY,
  experiment_id    uuid NOT NULL,
  variant_id       uuid NOT NULL,
  unit_type        bytea NOT NULL,
  unit_id          bytea NOT NULL,
  salt             bytea NOT NULL,
  error            text NOT NULL,
  dead_lettered_at timestamptz NOT NULL DEFAULT now()
);
