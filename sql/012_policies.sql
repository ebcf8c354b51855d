-- Policies applied from policies.yml (spec 13.2, docs/lifecycle.md#policies): a
-- version is immutable once stored and records the MLflow run its model version came
-- from, so a reader can go from a variant to the training run behind it.
ALTER TABLE exp.policy_versions ADD COLUMN IF NOT EXISTS mlflow_run_id text NOT NULL DEFAULT '';
ALTER TABLE exp.policies ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'policy_versions_positive') THEN
    ALTER TABLE exp.policy_versions ADD CONSTRAINT policy_versions_positive
      CHECK (version >= 1 AND mlflow_model_version ~ '^[1-9][0-9]*$') NOT VALID;
  END IF;
END $$;
