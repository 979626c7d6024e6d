"""Glue table definitions, from the one schema, for both deployments (CDK and local)."""

from __future__ import annotations

from typing import Any

from flightdata import config, schema

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

_COLUMNS = {
    config.PROCESSED: schema.PROCESSED_COLUMNS,
    config.CURATED: schema.PROCESSED_COLUMNS,
    config.QUARANTINE: schema.QUARANTINE,
}


def table_input(names: config.Resources, kind: str) -> dict[str, Any]:
    """The Glue ``TableInput`` of a Parquet lake table (processed, curated or quarantine)."""
    return {
        "Name": names.tables[kind],
        "Description": f"flightdata {kind} state vectors, partitioned by UTC hour",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD"},
        "PartitionKeys": schema.glue_partition_keys(),
        "StorageDescriptor": {
            "Columns": schema.glue_columns(_COLUMNS[kind]),
            "Location": names.table_location(kind),
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
    }
