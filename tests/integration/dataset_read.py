"""What pandas and MLflow's own Python client read of a dataset version that expd
built (tests/integration/dataset_build_test.cpp). Run with var/venv's Python; prints
one JSON object.

usage: dataset_read.py parquet FILE   the file's columns, types, row groups and rows
       dataset_read.py mlflow RUN_ID  the run's status, tags, params and input datasets
"""

import json
import sys


def parquet(path):
    import pandas as pd
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    frame = pd.read_parquet(path)
    frame["timestamp"] = frame["timestamp"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return {
        "types": {field.name: str(field.type) for field in file.schema_arrow},
        "nullable": {field.name: field.nullable for field in file.schema_arrow},
        "row_groups": file.metadata.num_row_groups,
        "metadata": {k.decode(): v.decode() for k, v in (file.schema_arrow.metadata or {}).items()
                     if k != b"ARROW:schema"},
        "rows": frame.to_dict(orient="records"),
    }


def run(run_id):
    from mlflow import MlflowClient

    got = MlflowClient().get_run(run_id)
    return {
        "status": got.info.status,
        "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")},
        "params": got.data.params,
        "inputs": [{"name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
                    "source": json.loads(d.dataset.source), "profile": json.loads(d.dataset.profile),
                    "tags": {t.key: t.value for t in d.tags}}
                   for d in got.inputs.dataset_inputs],
    }


if __name__ == "__main__":
    print(json.dumps({"parquet": parquet, "mlflow": run}[sys.argv[1]](sys.argv[2]), ensure_ascii=False))
