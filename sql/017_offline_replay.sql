-- Offline replay (spec 10; docs/lifecycle.md, "Offline replay"): each replay request,
-- its state and verdict in exp.replays; its scores, one row per model and metric, in
-- exp.offline_replay_results (sql/004), which gains the replay, the model version and
-- the comparison with the baseline. policy_version_id is known only once a policy
-- version serves the model, so it may be empty until then (runtime/policy_store fills it).
CREATE TABLE IF NOT EXISTS exp.replays (
  id                uuid PRIMARY KEY,
  candidate_model   text NOT NULL,
  candidate_version integer NOT NULL CHECK (candidate_version > 0),
  baseline_model    text NOT NULL,
  baseline_version  integer NOT NULL CHECK (baseline_version > 0),
  dataset           text NOT NULL,             -- NAME/VERSION of exp.datasets
  request           jsonb NOT NULL,            -- core::replay_request_json
  status            text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  verdict           text CHECK (verdict IN ('accepted', 'refused')),
  summary           jsonb,                     -- core::replay_verdict_json
  error             text,
  runner            text,                      -- the node running it
  heartbeat_at      timestamptz,               -- the runner's latest word
  attempts          integer NOT NULL DEFAULT 0,
  mlflow_run_id     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  finished_at       timestamptz,
  CHECK ((status = 'succeeded') = (verdict IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS replays_queued ON exp.replays (created_at) WHERE status IN ('queued', 'running');

ALTER TABLE exp.offline_replay_results
  ALTER COLUMN policy_version_id DROP NOT NULL,
  ADD COLUMN IF NOT EXISTS replay_id uuid REFERENCES exp.replays (id) ON DELETE CASCADE,
  ADD COLUMN IF NOT EXISTS role text CHECK (role IN ('candidate', 'baseline')),
  ADD COLUMN IF NOT EXISTS mlflow_model_name text,
  ADD COLUMN IF NOT EXISTS mlflow_model_version integer,
  ADD COLUMN IF NOT EXISTS rows integer,
  ADD COLUMN IF NOT EXISTS difference double precision,      -- candidate - baseline (the candidate's rows)
  ADD COLUMN IF NOT EXISTS difference_low double precision,  -- paired bootstrap interval
  ADD COLUMN IF NOT EXISTS difference_high double precision,
  ADD COLUMN IF NOT EXISTS passed boolean;                   -- the criterion's; null: not a gate
CREATE UNIQUE INDEX IF NOT EXISTS offline_replay_results_row
  ON exp.offline_replay_results (replay_id, role, metric_name);
CREATE INDEX IF NOT EXISTS offline_replay_results_model
  ON exp.offline_replay_results (mlflow_model_name, mlflow_model_version);
