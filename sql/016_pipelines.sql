-- Pipelines on a schedule (docs/lifecycle.md, "Pipelines"): each pipeline as applied,
-- and every run of one with its steps, so a node that restarts resumes what it had
-- queued or running instead of losing it.
CREATE TABLE IF NOT EXISTS exp.pipelines (
  name           text PRIMARY KEY,
  spec           jsonb NOT NULL,       -- core::pipeline_spec_json
  schedule       text NOT NULL,        -- the cron text, as in spec
  enabled        boolean NOT NULL,
  schedule_since timestamptz NOT NULL, -- the schedule (or enabled) last changed: earlier slots are not due
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS exp.pipeline_runs (
  id            uuid PRIMARY KEY,
  pipeline      text NOT NULL REFERENCES exp.pipelines (name) ON DELETE CASCADE,
  scheduled_for timestamptz NOT NULL,
  trigger       text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'catch_up')),
  status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  node          text NOT NULL,        -- the node that runs it (and resumes it after a restart)
  started_at    timestamptz,
  finished_at   timestamptz,
  inputs        jsonb NOT NULL,       -- the pipeline's spec when the run was queued, and scheduled_for
  outputs       jsonb NOT NULL DEFAULT '{}'::jsonb, -- each step's outputs by step name
  steps         jsonb NOT NULL,       -- [{name, kind, status, outputs, error, started_at, finished_at}]
  error         text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- One run per slot of a schedule across the cluster: the node whose insert wins runs it.
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_runs_one_per_slot
  ON exp.pipeline_runs (pipeline, scheduled_for) WHERE trigger <> 'manual';
CREATE INDEX IF NOT EXISTS pipeline_runs_by_pipeline ON exp.pipeline_runs (pipeline, created_at DESC);
CREATE INDEX IF NOT EXISTS pipeline_runs_unfinished ON exp.pipeline_runs (node) WHERE status IN ('queued', 'running');
