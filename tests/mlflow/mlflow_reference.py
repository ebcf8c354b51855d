"""What MLflow's own Python client reads of a run and a registered model that expd's C++
client wrote (tests/mlflow/mlflow_client_test.cpp). Run with var/venv's Python and
MLFLOW_TRACKING_URI set; prints one JSON object.

usage: mlflow_reference.py RUN_ID METRIC_KEY MODEL_NAME ARTIFACT_PATH
"""

import hashlib
import json
import sys

import mlflow
from mlflow import MlflowClient

run_id, metric_key, model_name, artifact_path = sys.argv[1:5]
client = MlflowClient()
run = client.get_run(run_id)
history = client.get_metric_history(run_id, metric_key)
production = client.get_model_version_by_alias(model_name, "production")
downloaded = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact_path)
with open(downloaded, "rb") as f:
    artifact_sha256 = hashlib.sha256(f.read()).hexdigest()

print(json.dumps({
    "status": run.info.status,
    "end_time": run.info.end_time,
    "params": run.data.params,
    "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
    "history": [[m.step, m.value] for m in history],
    "production_version": int(production.version),
    "production_stage_tag": production.tags.get("stage"),
    "production_run_id": production.run_id,
    "aliases": {alias: int(version) for alias, version in
                client.get_registered_model(model_name).aliases.items()},
    "artifact_sha256": artifact_sha256,
}))
