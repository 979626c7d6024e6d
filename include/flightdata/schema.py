"""The one definition of a state vector: names, Arrow and Glue types, units, descriptions.

Parquet writing, the Glue tables (AWS and local), the quarantine layout and the SQL
all read these lists; nothing else spells out a column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

METRES_TO_FEET = 3.28084


@dataclass(frozen=True)
class Column:
    """One column of a lake table."""

    name: str
    arrow_type: pa.DataType
    unit: str | None
    description: str
    api_index: int | None = None  # position in OpenSky's state vector array

    @property
    def glue_type(self) -> str:
        return glue_type(self.arrow_type)


def glue_type(arrow_type: pa.DataType) -> str:
    """The Glue/Athena (Hive DDL) type for an Arrow type."""
    if pa.types.is_string(arrow_type):
        return "string"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_float64(arrow_type):
        return "double"
    if pa.types.is_float32(arrow_type):
        return "float"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_int32(arrow_type):
        return "int"
    if pa.types.is_int16(arrow_type):
        return "smallint"
    if pa.types.is_int8(arrow_type):
        return "tinyint"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_list(arrow_type):
        return f"array<{glue_type(arrow_type.value_type)}>"
    raise TypeError(f"no Glue type is defined for Arrow type {arrow_type}")


# OpenSky /states/all state vector, in API order (index 17 only with extended=1).
# Values are float32 where OpenSky sends few decimals: measurements come with two and
# coordinates with four (about 11 m). float32 keeps 7 significant digits, so every value
# reads back as the text OpenSky sent (at 180° a step is 1.5e-5°, under 2 m), and Parquet
# files are a third smaller and quicker to write than with float64.
STATE_VECTOR: tuple[Column, ...] = (
    Column("icao24", pa.string(), None, "ICAO 24-bit transponder address, 6 lowercase hex digits", 0),
    Column("callsign", pa.string(), None, "Callsign, trailing padding stripped; null when not sent", 1),
    Column("origin_country", pa.string(), None, "Country inferred from the ICAO 24-bit address", 2),
    Column("time_position", pa.int64(), "s", "Unix time of the last position update", 3),
    Column("last_contact", pa.int64(), "s", "Unix time of the last message from the transponder", 4),
    Column("longitude", pa.float32(), "deg", "WGS-84 longitude", 5),
    Column("latitude", pa.float32(), "deg", "WGS-84 latitude", 6),
    Column("baro_altitude", pa.float32(), "m", "Barometric altitude", 7),
    Column("on_ground", pa.bool_(), None, "True when the position came from a surface report", 8),
    Column("velocity", pa.float32(), "m/s", "Ground speed", 9),
    Column("true_track", pa.float32(), "deg", "Track clockwise from north", 10),
    Column("vertical_rate", pa.float32(), "m/s", "Vertical rate, positive when climbing", 11),
    Column("sensors", pa.list_(pa.int32()), None, "Receiver ids that contributed; null on /states/all", 12),
    Column("geo_altitude", pa.float32(), "m", "Geometric (GNSS) altitude", 13),
    Column("squawk", pa.string(), None, "Transponder code", 14),
    Column("spi", pa.bool_(), None, "Special purpose indicator", 15),
    Column("position_source", pa.int32(), None, "0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM", 16),
    Column("category", pa.int32(), None, "Aircraft category 0-20; null unless requested with extended=1", 17),
)
API_COLUMNS_MIN = 17
API_COLUMNS_MAX = len(STATE_VECTOR)

# Columns the reports need, derived from the state vector during the ETL.
DERIVED: tuple[Column, ...] = (
    Column("baro_altitude_ft", pa.float32(), "ft", "Barometric altitude in feet, as the reports band it"),
)

# Where a row came from; the same on every row of a snapshot.
METADATA: tuple[Column, ...] = (
    Column("snapshot_time", pa.timestamp("ms"), "UTC", "Minute the snapshot was taken for; drives partitions"),
    Column("api_time", pa.timestamp("ms"), "UTC", "The 'time' OpenSky reported for the snapshot"),
    Column("region", pa.string(), None, "Name of the bounding box the snapshot covers ('global' for all)"),
    Column("ingested_at", pa.timestamp("ms"), "UTC", "When the ETL processed the snapshot"),
)

# Rows that fail validation keep their original JSON text, so nothing is lost.
QUARANTINE: tuple[Column, ...] = (
    Column("icao24", pa.string(), None, "icao24 as sent, when it was a string"),
    Column("reasons", pa.list_(pa.string()), None, "Reason codes of every rule the row broke"),
    Column("record", pa.string(), None, "The state vector exactly as OpenSky sent it, as JSON"),
    *METADATA,
)

# One row per committed snapshot. A snapshot's rows are the processed and quarantine rows
# whose (snapshot_time, region, ingested_at) match its commit; anything else under those
# prefixes is a previous attempt or a dead writer's orphan, and readers skip it.
COMMIT: tuple[Column, ...] = (
    Column("snapshot_time", pa.timestamp("ms"), "UTC", "Minute the snapshot was taken for"),
    Column("region", pa.string(), None, "Name of the bounding box the snapshot covers"),
    Column("ingested_at", pa.timestamp("ms"), "UTC", "The committed attempt: its rows carry this ingested_at"),
    Column("committed_at", pa.timestamp("ms"), "UTC", "When the commit object was written"),
    Column("records", pa.int64(), None, "State vectors fetched"),
    Column("valid", pa.int64(), None, "Rows written to processed"),
    Column("quarantined", pa.int64(), None, "Rows written to quarantine"),
    Column("processed_key", pa.string(), None, "Object key of the processed Parquet"),
    Column("processed_sha256", pa.string(), None, "SHA-256 of the processed object"),
    Column("quarantine_key", pa.string(), None, "Object key of the quarantine Parquet"),
    Column("quarantine_sha256", pa.string(), None, "SHA-256 of the quarantine object"),
    Column("raw_key", pa.string(), None, "Object key of the raw response, when known"),
)

PARTITION_KEYS: tuple[str, ...] = ("year", "month", "day", "hour")


def arrow_schema(columns: tuple[Column, ...], required: frozenset[str] = frozenset()) -> pa.Schema:
    """Fields named in ``required`` are not nullable: Parquet stores them without null flags."""
    return pa.schema(
        [pa.field(c.name, c.arrow_type, nullable=c.name not in required, metadata=_field_metadata(c)) for c in columns]
    )


def _field_metadata(column: Column) -> dict[str, str]:
    meta = {"description": column.description}
    if column.unit:
        meta["unit"] = column.unit
    return meta


PROCESSED_COLUMNS: tuple[Column, ...] = (*STATE_VECTOR, *DERIVED, *METADATA)
METADATA_NAMES = frozenset(c.name for c in METADATA)
# Never null in a lake file: the metadata always, and in processed rows what validation
# demands (a row without icao24 or last_contact is quarantined).
PROCESSED_SCHEMA = arrow_schema(PROCESSED_COLUMNS, required=METADATA_NAMES | {"icao24", "last_contact"})
QUARANTINE_SCHEMA = arrow_schema(QUARANTINE, required=METADATA_NAMES)
COMMIT_SCHEMA = arrow_schema(COMMIT, required=frozenset(c.name for c in COMMIT) - {"raw_key"})
API_SCHEMA = arrow_schema(STATE_VECTOR)


def glue_columns(columns: tuple[Column, ...]) -> list[dict[str, str]]:
    """Columns in the shape Glue's ``StorageDescriptor.Columns`` takes."""
    return [{"Name": c.name, "Type": c.glue_type, "Comment": _comment(c)} for c in columns]


def glue_partition_keys() -> list[dict[str, str]]:
    return [{"Name": key, "Type": "string"} for key in PARTITION_KEYS]


def _comment(column: Column) -> str:
    return f"{column.description} ({column.unit})" if column.unit else column.description
