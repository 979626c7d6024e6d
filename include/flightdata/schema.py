"""The one definition of a state vector: names, types, units, descriptions.

Types are written as Glue (Hive DDL) types; ``flightdata.etl.arrow`` derives the Arrow
schemas of the lake's Parquet files from them. Parquet writing, the Glue tables (AWS and
local), the quarantine layout and the SQL all read these lists; nothing else spells out a
column. No pyarrow here: the ingestion Lambda and DAG parsing import this module.
"""

from __future__ import annotations

from dataclasses import dataclass

METRES_TO_FEET = 3.28084
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG), for great-circle distances


@dataclass(frozen=True)
class Column:
    """One column of a lake table; ``glue_type`` is its Glue/Athena (Hive DDL) type."""

    name: str
    glue_type: str
    unit: str | None
    description: str
    api_index: int | None = None  # position in OpenSky's state vector array


# OpenSky /states/all state vector, in API order (index 17 only with extended=1).
# Values are float32 where OpenSky sends few decimals: measurements come with two and
# coordinates with four (about 11 m). float32 keeps 7 significant digits, so every value
# reads back as the text OpenSky sent (at 180° a step is 1.5e-5°, under 2 m), and Parquet
# files are a third smaller and quicker to write than with float64.
STATE_VECTOR: tuple[Column, ...] = (
    Column("icao24", "string", None, "ICAO 24-bit transponder address, 6 lowercase hex digits", 0),
    Column("callsign", "string", None, "Callsign, trailing padding stripped; null when not sent", 1),
    Column("origin_country", "string", None, "Country inferred from the ICAO 24-bit address", 2),
    Column("time_position", "bigint", "s", "Unix time of the last position update", 3),
    Column("last_contact", "bigint", "s", "Unix time of the last message from the transponder", 4),
    Column("longitude", "float", "deg", "WGS-84 longitude", 5),
    Column("latitude", "float", "deg", "WGS-84 latitude", 6),
    Column("baro_altitude", "float", "m", "Barometric altitude", 7),
    Column("on_ground", "boolean", None, "True when the position came from a surface report", 8),
    Column("velocity", "float", "m/s", "Ground speed", 9),
    Column("true_track", "float", "deg", "Track clockwise from north", 10),
    Column("vertical_rate", "float", "m/s", "Vertical rate, positive when climbing", 11),
    Column("sensors", "array<int>", None, "Receiver ids that contributed; null on /states/all", 12),
    Column("geo_altitude", "float", "m", "Geometric (GNSS) altitude", 13),
    Column("squawk", "string", None, "Transponder code", 14),
    Column("spi", "boolean", None, "Special purpose indicator", 15),
    Column("position_source", "int", None, "0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM", 16),
    Column("category", "int", None, "Aircraft category 0-20; null unless requested with extended=1", 17),
)
API_COLUMNS_MIN = 17
API_COLUMNS_MAX = len(STATE_VECTOR)

# Columns the reports need, derived from the state vector during the ETL.
DERIVED: tuple[Column, ...] = (
    Column("baro_altitude_ft", "float", "ft", "Barometric altitude in feet, as the reports band it"),
)

# Where a row came from; the same on every row of a snapshot.
METADATA: tuple[Column, ...] = (
    Column("snapshot_time", "timestamp", "UTC", "Minute the snapshot was taken for; drives partitions"),
    Column("api_time", "timestamp", "UTC", "The 'time' OpenSky reported for the snapshot"),
    Column("region", "string", None, "Name of the bounding box the snapshot covers ('global' for all)"),
    Column("ingested_at", "timestamp", "UTC", "When the ETL processed the snapshot"),
)

# Rows that fail validation keep their original JSON text, so nothing is lost.
QUARANTINE: tuple[Column, ...] = (
    Column("icao24", "string", None, "icao24 as sent, when it was a string"),
    Column("reasons", "array<string>", None, "Reason codes of every rule the row broke"),
    Column("record", "string", None, "The state vector exactly as OpenSky sent it, as JSON"),
    *METADATA,
)

# One row per committed snapshot. A snapshot's rows are the processed and quarantine rows
# whose (snapshot_time, region, ingested_at) match its commit; anything else under those
# prefixes is a previous attempt or a dead writer's orphan, and readers skip it.
COMMIT: tuple[Column, ...] = (
    Column("snapshot_time", "timestamp", "UTC", "Minute the snapshot was taken for"),
    Column("region", "string", None, "Name of the bounding box the snapshot covers"),
    Column("ingested_at", "timestamp", "UTC", "The committed attempt: its rows carry this ingested_at"),
    Column("committed_at", "timestamp", "UTC", "When the commit object was written"),
    Column("records", "bigint", None, "State vectors fetched"),
    Column("valid", "bigint", None, "Rows written to processed"),
    Column("quarantined", "bigint", None, "Rows written to quarantine"),
    Column("processed_key", "string", None, "Object key of the processed Parquet"),
    Column("processed_sha256", "string", None, "SHA-256 of the processed object"),
    Column("quarantine_key", "string", None, "Object key of the quarantine Parquet"),
    Column("quarantine_sha256", "string", None, "SHA-256 of the quarantine object"),
    Column("raw_key", "string", None, "Object key of the raw response, when known"),
)

PARTITION_KEYS: tuple[str, ...] = ("year", "month", "day", "hour")

# The airports reference table (one file, not partitioned): flights start and end at them.
AIRPORTS: tuple[Column, ...] = (
    Column("icao", "string", None, "ICAO airport code, 4 letters"),
    Column("iata", "string", None, "IATA airport code, 3 letters; null when it has none"),
    Column("name", "string", None, "Airport name"),
    Column("city", "string", None, "City it serves"),
    Column("country", "string", None, "ISO 3166-1 alpha-2 country code"),
    Column("latitude", "double", "deg", "WGS-84 latitude of the airport reference point"),
    Column("longitude", "double", "deg", "WGS-84 longitude of the airport reference point"),
    Column("elevation_ft", "int", "ft", "Elevation above mean sea level"),
)

# The runways reference table: one row per runway direction, the way an aircraft uses it
# (09L and 27R are two rows of one strip). Flights find their airports by it.
RUNWAYS: tuple[Column, ...] = (
    Column("airport", "string", None, "ICAO code of the airport (the airports table's icao)"),
    Column("runway", "string", None, "Designator of this direction, for example 27R"),
    Column("latitude", "double", "deg", "WGS-84 latitude of this direction's threshold, where it starts"),
    Column("longitude", "double", "deg", "WGS-84 longitude of this direction's threshold"),
    Column("end_latitude", "double", "deg", "WGS-84 latitude of the far end"),
    Column("end_longitude", "double", "deg", "WGS-84 longitude of the far end"),
    Column("heading_deg", "double", "deg", "True heading of travel along this direction"),
    Column("length_m", "double", "m", "Length between the two ends"),
    Column("elevation_m", "double", "m", "Elevation of the threshold above mean sea level"),
)

# One row per flight, segmented from the curated state vectors by the daily DAG
# (sql/flights_day.sql); OpenSky's own flights table is the model.
FLIGHTS: tuple[Column, ...] = (
    Column("icao24", "string", None, "ICAO 24-bit transponder address"),
    Column("callsign", "string", None, "Callsign the flight was seen under; null when none was sent"),
    Column("origin_country", "string", None, "Country inferred from the ICAO 24-bit address"),
    Column("first_seen", "bigint", "s", "Unix time of the flight's first contact"),
    Column("last_seen", "bigint", "s", "Unix time of the flight's last contact"),
    Column("takeoff_seen", "bigint", "s", "Unix time of its first airborne contact; the flight's day is this one's"),
    Column("departure_airport", "string", None, "Estimated departure airport (ICAO); null when not seen near one"),
    Column("arrival_airport", "string", None, "Estimated arrival airport (ICAO); null when not seen near one"),
    Column("departure_distance_km", "double", "km", "From the departure evidence to that airport"),
    Column("arrival_distance_km", "double", "km", "From the arrival evidence to that airport"),
    Column("distance_km", "double", "km", "Great-circle distance flown: the sum over consecutive positions"),
    Column("max_altitude_m", "float", "m", "Highest barometric altitude"),
    Column("positions", "bigint", None, "State vectors with a position in the flight"),
    Column("seen_from_takeoff", "boolean", None, "Seen on the ground or low and slow at its start"),
    Column("seen_to_landing", "boolean", None, "Seen on the ground or low and slow at its end"),
)
DAY_PARTITION_KEYS: tuple[str, ...] = ("year", "month", "day")

PROCESSED_COLUMNS: tuple[Column, ...] = (*STATE_VECTOR, *DERIVED, *METADATA)
METADATA_NAMES = frozenset(c.name for c in METADATA)
# Never null in a lake file: the metadata always, and in processed rows what validation
# demands (a row without icao24 or last_contact is quarantined).
PROCESSED_REQUIRED = METADATA_NAMES | {"icao24", "last_contact"}
QUARANTINE_REQUIRED = METADATA_NAMES
COMMIT_REQUIRED = frozenset(c.name for c in COMMIT) - {"raw_key"}


def glue_columns(columns: tuple[Column, ...]) -> list[dict[str, str]]:
    """Columns in the shape Glue's ``StorageDescriptor.Columns`` takes."""
    return [{"Name": c.name, "Type": c.glue_type, "Comment": _comment(c)} for c in columns]


def glue_partition_keys(keys: tuple[str, ...] = PARTITION_KEYS) -> list[dict[str, str]]:
    return [{"Name": key, "Type": "string"} for key in keys]


def _comment(column: Column) -> str:
    return f"{column.description} ({column.unit})" if column.unit else column.description
