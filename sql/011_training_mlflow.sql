-- The MLflow run each training job is tracked in (docs/lifecycle.md, "Training runs in
-- MLflow"): kept with the job, so a retry on any node goes on logging into the same run.
ALTER TABLE exp.training_jobs ADD COLUMN IF NOT EXISTS mlflow_run_id text NOT NULL DEFAULT '';
