"""The Arrow schemas of the lake's Parquet files, derived from ``flightdata.schema``.

Glue types map to Arrow types one way only; lake timestamps are milliseconds, without a
time zone (Athena reads Parquet timestamps as UTC wall time).
"""

from __future__ import annotations

import functools

import pyarrow as pa

from flightdata.schema import (
    COMMIT,
    COMMIT_REQUIRED,
    PROCESSED_COLUMNS,
    PROCESSED_REQUIRED,
    QUARANTINE,
    QUARANTINE_REQUIRED,
    STATE_VECTOR,
    Column,
)

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "boolean": pa.bool_(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "timestamp": pa.timestamp("ms"),
}


@functools.cache
def arrow_type(glue_type: str) -> pa.DataType:
    """The Arrow type the lake writes for a Glue type (``array<...>`` included)."""
    if glue_type.startswith("array<") and glue_type.endswith(">"):
        return pa.list_(arrow_type(glue_type[len("array<") : -1]))
    try:
        return _SCALARS[glue_type]
    except KeyError:
        raise TypeError(f"the lake writes no Arrow type for Glue type {glue_type!r}") from None


def type_of(column: Column) -> pa.DataType:
    return arrow_type(column.glue_type)


def arrow_schema(columns: tuple[Column, ...], required: frozenset[str] = frozenset()) -> pa.Schema:
    """Fields named in ``required`` are not nullable: Parquet stores them without null flags."""
    return pa.schema(
        [pa.field(c.name, type_of(c), nullable=c.name not in required, metadata=_field_metadata(c)) for c in columns]
    )


def _field_metadata(column: Column) -> dict[str, str]:
    meta = {"description": column.description}
    if column.unit:
        meta["unit"] = column.unit
    return meta


PROCESSED_SCHEMA = arrow_schema(PROCESSED_COLUMNS, required=PROCESSED_REQUIRED)
QUARANTINE_SCHEMA = arrow_schema(QUARANTINE, required=QUARANTINE_REQUIRED)
COMMIT_SCHEMA = arrow_schema(COMMIT, required=COMMIT_REQUIRED)
API_SCHEMA = arrow_schema(STATE_VECTOR)
