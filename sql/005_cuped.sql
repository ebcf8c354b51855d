-- CUPED (issue 4): an experiment may name a pre-period whose per-unit metric values
-- are the covariate of its results (docs/aggregation.md). NULL: no CUPED.
ALTER TABLE exp.experiments
  ADD COLUMN IF NOT EXISTS cuped_pre_period_days integer
  CHECK (cuped_pre_period_days BETWEEN 1 AND 90);
