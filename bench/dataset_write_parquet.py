"""The pipeline a Python team would write for the planner dataset
(bench/dataset_build_vs_python.sh): the join query's CSV (psql's COPY ... TO STDOUT)
on stdin, the split by XXH64 of household_id as expd computes it (core::bucket_of:
bucket = XXH64("validation:" + household_id) mod 10000, validation below
round(fraction * 10000)), and the same Parquet as expd writes by pyarrow: the same
columns and types, zstd, row groups of 16,384 rows.

usage: dataset_write_parquet.py OUT.parquet VALIDATION_FRACTION < rows.csv
"""

import sys

import pyarrow as pa
import pyarrow.csv as csv
import pyarrow.parquet as pq
import xxhash

out, fraction = sys.argv[1], float(sys.argv[2])
width = round(fraction * 10000)
text = pa.string()
read_types = {"request_id": text, "household_id": text, "timestamp": pa.timestamp("us", tz="UTC"),
              "policy_version_id": text, "generated_event_id": text, "accepted_event_id": text,
              "input": text, "target": text}
schema = pa.schema([pa.field(name, kind, nullable=False) for name, kind in [
    ("input", text), ("target", text), ("split", text), ("household_id", text),
    ("timestamp", pa.timestamp("us", tz="UTC")), ("policy_version_id", text), ("request_id", text),
    ("generated_event_id", text), ("accepted_event_id", text)]])
splits = {}


def split_of(household):
    got = splits.get(household)
    if got is None:
        bucket = xxhash.xxh64_intdigest(("validation:" + household).encode()) % 10000
        got = splits[household] = "validation" if bucket < width else "train"
    return got


reader = csv.open_csv(sys.stdin.buffer, read_options=csv.ReadOptions(block_size=64 << 20),
                      convert_options=csv.ConvertOptions(column_types=read_types, strings_can_be_null=False))
rows = 0
with pq.ParquetWriter(out, schema, compression="zstd") as writer:
    for batch in reader:
        households = batch.column("household_id").to_pylist()
        columns = {name: batch.column(name) for name in batch.schema.names}
        columns["split"] = pa.array([split_of(h) for h in households], text)
        table = pa.Table.from_pydict({name: columns[name] for name in schema.names}, schema=schema)
        writer.write_table(table, row_group_size=16384)
        rows += table.num_rows
print(rows)
