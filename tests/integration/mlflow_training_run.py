"""What MLflow's own Python client reads of a training job's run and its registered
version, as expd's tracker logged them (tests/integration/trainer_worker_test.cpp). Run
with var/venv's Python and MLFLOW_TRACKING_URI set; prints one JSON object.

usage: mlflow_training_run.py EXPERIMENT JOB_ID MODEL_NAME
"""

import hashlib
import json
import sys

import mlflow
from mlflow import MlflowClient

experiment_name, job_id, model_name = sys.argv[1:4]
client = MlflowClient()
experiment = client.get_experiment_by_name(experiment_name)
runs = client.search_runs([experiment.experiment_id], f"tags.`expd.job_id` = '{job_id}'")
run = runs[0]
artifacts = sorted(
    f"{folder}/{a.path.split('/')[-1]}" if folder else a.path
    for folder in ("", "adapter", "tokenizer", "config")
    for a in client.list_artifacts(run.info.run_id, folder or None) if not a.is_dir)
adapter = mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                              artifact_path="adapter/adapter_model.safetensors")
with open(adapter, "rb") as f:
    adapter_sha256 = hashlib.sha256(f.read()).hexdigest()
versions = client.search_model_versions(f"name = '{model_name}'")

print(json.dumps({
    "runs": len(runs),
    "status": run.info.status,
    "params": run.data.params,
    "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
    "loss": [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, "loss")],
    "validation_loss": [[m.step, m.value] for m in
                        client.get_metric_history(run.info.run_id, "validation_loss")],
    "artifacts": artifacts,
    "adapter_sha256": adapter_sha256,
    "versions": [{"version": int(v.version), "run_id": v.run_id, "source": v.source,
                  "tags": v.tags} for v in versions],
    "run_id": run.info.run_id,
}))
