-- Stopping rules (issue 15): an experiment's `stopping:` block (core/stopping_rules.hpp)
-- that the aggregator applies after its passes, and why the status last changed (the
-- rule's reason, or an operator's) and when.
ALTER TABLE exp.experiments ADD COLUMN IF NOT EXISTS stopping jsonb
  CHECK (stopping IS NULL OR jsonb_typeof(stopping) = 'object');
ALTER TABLE exp.experiments ADD COLUMN IF NOT EXISTS status_reason text NOT NULL DEFAULT '';
ALTER TABLE exp.experiments ADD COLUMN IF NOT EXISTS status_changed_at timestamptz;
