-- What an aggregation pass left out of a variant's analysis: events that credit the
-- variant for a unit its experiment assigned another one (docs/aggregation.md). Written
-- whole for each experiment a pass recomputes; results show it as a warning.
CREATE TABLE IF NOT EXISTS exp.variant_data_quality (
  experiment_id uuid NOT NULL REFERENCES exp.experiments (id) ON DELETE CASCADE,
  variant_id    uuid NOT NULL REFERENCES exp.variants (id) ON DELETE CASCADE,
  unheld_events bigint NOT NULL DEFAULT 0,
  computed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, variant_id)
);
