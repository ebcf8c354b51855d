-- Datasets built from events (docs/lifecycle.md, "Datasets from events"): one row per
-- dataset version, written only once its Parquet file and manifest are both stored,
-- so a row always names files that exist. Versions are never replaced.
CREATE TABLE IF NOT EXISTS exp.datasets (
  name                text NOT NULL,
  version             text NOT NULL,  -- "2025-01-13", a second different build that day "2025-01-13.2"
  window_from         timestamptz NOT NULL,
  window_to           timestamptz NOT NULL CHECK (window_to > window_from),
  validation_fraction double precision NOT NULL CHECK (validation_fraction >= 0 AND validation_fraction < 1),
  rows                bigint NOT NULL CHECK (rows > 0),
  train_rows          bigint NOT NULL,
  validation_rows     bigint NOT NULL,
  content_hash        text NOT NULL,  -- XXH3-64 of the Parquet file's bytes
  query_hash          text NOT NULL,  -- XXH3-64 of the join query as run (window bound)
  data_uri            text NOT NULL,  -- the Parquet file: file:///... or s3://bucket/key
  manifest            jsonb NOT NULL, -- manifest.json as stored beside the file
  mlflow_run_id       text NOT NULL DEFAULT '', -- the run the version was logged to, when the node has --mlflow
  built_at            timestamptz NOT NULL,
  PRIMARY KEY (name, version)
);

-- A build that finds the same rows already stored that day answers that version.
CREATE INDEX IF NOT EXISTS datasets_content_idx ON exp.datasets (name, content_hash);
