"""Glue table definitions, from the one schema, for both deployments (CDK and local)."""

from __future__ import annotations

from typing import Any

from flightdata import resources, schema

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

_COLUMNS = {
    resources.PROCESSED: schema.PROCESSED_COLUMNS,
    resources.CURATED: schema.PROCESSED_COLUMNS,
    resources.QUARANTINE: schema.QUARANTINE,
    resources.COMMITS: schema.COMMIT,
}
_DESCRIPTIONS = {resources.COMMITS: "flightdata snapshot commits: which attempt of each snapshot readers count"}


JSON_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
JSON_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
RAW_COLUMNS = [
    {"Name": "time", "Type": "bigint", "Comment": "The 'time' OpenSky reported for the snapshot (s)"},
    {"Name": "states", "Type": "array<array<string>>", "Comment": "State vectors exactly as sent, values as text"},
]
# Raw objects are never registered as partitions: Athena projects them from the key layout.
_PROJECTION = {
    "projection.enabled": "true",
    "projection.year.type": "integer",
    "projection.year.range": "2024,2100",
    "projection.month.type": "integer",
    "projection.month.range": "1,12",
    "projection.month.digits": "2",
    "projection.day.type": "integer",
    "projection.day.range": "1,31",
    "projection.day.digits": "2",
    "projection.hour.type": "integer",
    "projection.hour.range": "0,23",
    "projection.hour.digits": "2",
}


def table_input(names: resources.Resources, kind: str) -> dict[str, Any]:
    """The Glue ``TableInput`` of a lake table: Parquet for processed, curated and quarantine;
    the gzipped API responses (one JSON document a file) for raw."""
    if kind == resources.RAW:
        return _raw_table_input(names)
    if kind == resources.AIRPORTS:
        return _reference_table_input(
            names, kind, schema.AIRPORTS, "Airports (ICAO, IATA, position), from airportsdata"
        )
    if kind == resources.RUNWAYS:
        return _reference_table_input(
            names, kind, schema.RUNWAYS, "Runway directions (thresholds, heading, length), from OurAirports"
        )
    if kind == resources.FLIGHTS:
        return {
            **_reference_table_input(
                names, kind, schema.FLIGHTS, "Flights segmented from the state vectors, by UTC day"
            ),
            "PartitionKeys": schema.glue_partition_keys(schema.DAY_PARTITION_KEYS),
        }
    return {
        "Name": names.tables[kind],
        "Description": _DESCRIPTIONS.get(kind, f"flightdata {kind} state vectors, partitioned by UTC hour"),
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


def _reference_table_input(
    names: resources.Resources, kind: str, columns: tuple[schema.Column, ...], description: str
) -> dict[str, Any]:
    """A table of Parquet files written by queries or once (reference data), no hourly partitions."""
    return {
        "Name": names.tables[kind],
        "Description": description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Columns": schema.glue_columns(columns),
            "Location": names.table_location(kind),
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
    }


def _raw_table_input(names: resources.Resources) -> dict[str, Any]:
    location = names.table_location(resources.RAW)
    template = location + "year=${year}/month=${month}/day=${day}/hour=${hour}/"
    return {
        "Name": names.tables[resources.RAW],
        "Description": "OpenSky /states/all responses as fetched, one row per snapshot",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "json",
            "compressionType": "gzip",
            "EXTERNAL": "TRUE",
            **_PROJECTION,
            "storage.location.template": template,
        },
        "PartitionKeys": schema.glue_partition_keys(),
        "StorageDescriptor": {
            "Columns": RAW_COLUMNS,
            "Location": location,
            "InputFormat": JSON_INPUT,
            "OutputFormat": JSON_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": JSON_SERDE},
        },
    }


def committed_rows(names: resources.Resources, kind: str, condition: str) -> str:
    """SQL for the ``kind`` rows (processed or quarantine) of committed snapshots only: those
    whose (snapshot_time, region, ingested_at) a commit names. ``condition`` restricts both
    sides by partition keys, so Athena prunes; use it as ``FROM <this> AS alias``."""
    database, tables = names.glue_database, names.tables
    return (
        f"(SELECT t.* FROM {database}.{tables[kind]} AS t"
        f" JOIN (SELECT snapshot_time AS c_time, region AS c_region, ingested_at AS c_attempt"
        f" FROM {database}.{tables[resources.COMMITS]} WHERE {condition}) AS c"
        " ON t.snapshot_time = c.c_time AND t.region = c.c_region AND t.ingested_at = c.c_attempt"
        f" WHERE {condition})"
    )
