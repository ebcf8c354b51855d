"""pyarrow's side of the Parquet dataset tests (tests/parquet/parquet_dataset_test.cpp).

Run with var/venv/bin/python (pyarrow, deploy/requirements.txt):
    pyarrow_reference.py read FILE     prints what pyarrow reads from FILE as JSON:
        {"columns": {name: type}, "rows": {name: [value]}, "metadata": {key: value},
         "row_groups": int, "compression": [codec per column of row group 0]}
    pyarrow_reference.py write SPEC    writes the file that the JSON file SPEC describes:
        {"path": str, "row_group_size": int (optional), "metadata": {key: value},
         "columns": [{"name": str, "type": str, "values": [value or null]}]}
        type: a pyarrow alias (string, large_string, int32, int64, ...), "dictionary"
        (dictionary-encoded strings) or "list<int32>".
"""
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def arrow_type(name):
    if name == "list<int32>":
        return pa.list_(pa.int32())
    return pa.type_for_alias(name)


def column(spec):
    if spec["type"] == "dictionary":
        return pa.array(spec["values"], pa.string()).dictionary_encode()
    return pa.array(spec["values"], arrow_type(spec["type"]))


def write(spec_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    table = pa.table({c["name"]: column(c) for c in spec["columns"]})
    table = table.replace_schema_metadata(spec.get("metadata", {}))
    pq.write_table(table, spec["path"], row_group_size=spec.get("row_group_size"))


def read(path):
    parquet = pq.ParquetFile(path)
    table = parquet.read()
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()
                if k != b"ARROW:schema"}
    group = parquet.metadata.row_group(0) if parquet.metadata.num_row_groups else None
    answer = {
        "columns": {field.name: str(field.type) for field in table.schema},
        "rows": table.to_pydict(),
        "metadata": metadata,
        "row_groups": parquet.metadata.num_row_groups,
        "compression": [group.column(i).compression for i in range(group.num_columns)] if group else [],
    }
    json.dump(answer, sys.stdout, ensure_ascii=False, default=str)  # timestamps as text


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
