-- Metric roles (issue 15): an experiment's `metrics:` block names its goals, secondary
-- metrics and guardrails with their non-inferiority margins (core/metric_roles.hpp).
-- NULL: no block, every metric is a goal. Which way a metric is better lives with its
-- event type (exp.event_types.metrics, `better`).
ALTER TABLE exp.experiments ADD COLUMN IF NOT EXISTS metrics jsonb
  CHECK (metrics IS NULL OR jsonb_typeof(metrics) = 'object');
