-- Training jobs (issue 12, docs/gpu.md "Training jobs"): what `expctl train` and POST
-- /admin/v1/training-jobs send, their state and progress as the trainer workers report
-- it, and every progress report as a log row.

CREATE TABLE IF NOT EXISTS exp.training_jobs (
  id                uuid PRIMARY KEY,
  name              text NOT NULL,
  -- The checked document as core::training_job_json writes it (every field given).
  spec              jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  -- Why a queued job waits (no worker, too few ranks); empty once it runs.
  reason            text NOT NULL DEFAULT '',
  cancel_requested  boolean NOT NULL DEFAULT false,
  ranks             integer NOT NULL CHECK (ranks > 0),
  max_failures      integer NOT NULL CHECK (max_failures >= 0),
  failures          integer NOT NULL DEFAULT 0,
  last_error        text NOT NULL DEFAULT '',
  step              bigint NOT NULL DEFAULT 0,
  total_steps       bigint NOT NULL DEFAULT 0,
  last_loss         double precision,
  learning_rate     double precision,
  tokens_per_second double precision,
  tokens            bigint NOT NULL DEFAULT 0,
  -- Where a retry resumes; empty before the first checkpoint.
  checkpoint        text NOT NULL DEFAULT '',
  -- Which registry runs it (a random id per registry process) and when that registry
  -- last said it still does: a run whose registry went quiet is failed, retriably, by
  -- any other (its node died).
  runner            uuid,
  heartbeat_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  finished_at       timestamptz
);

-- The dispatcher's question: the queued jobs, oldest first.
CREATE INDEX IF NOT EXISTS training_jobs_queued_idx ON exp.training_jobs (created_at)
  WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS training_jobs_created_idx ON exp.training_jobs (created_at DESC);

CREATE TABLE IF NOT EXISTS exp.training_job_log (
  job_id            uuid NOT NULL REFERENCES exp.training_jobs (id) ON DELETE CASCADE,
  -- Numbered per job from 1, so `logs -f` asks for the rows after the last it printed.
  seq               bigint NOT NULL,
  at                timestamptz NOT NULL DEFAULT now(),
  step              bigint NOT NULL,
  loss              double precision,
  learning_rate     double precision,
  grad_norm         double precision,
  tokens_per_second double precision,
  message           text NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, seq)
);
