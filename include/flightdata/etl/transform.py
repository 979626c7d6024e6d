"""One snapshot → processed rows, quarantined rows and a quality summary.

Invariant, checked on every snapshot: fetched = valid + quarantined.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flightdata import lake
from flightdata.etl import background
from flightdata.etl.arrow import PROCESSED_SCHEMA, QUARANTINE_SCHEMA
from flightdata.etl.parse import MALFORMED_ROW, ParsedSnapshot, parse_snapshot
from flightdata.etl.stages import BUILD, ENCODE, RULES, stage
from flightdata.etl.validate import reasons_by_row, rule_masks
from flightdata.lake import SnapshotContext
from flightdata.schema import METADATA_NAMES, METRES_TO_FEET

ZSTD_LEVEL = 1
# Text that is (nearly) unique per row, where a dictionary does not pay.
UNIQUE_TEXT_COLUMNS = frozenset({"icao24", "callsign", "squawk", "record"})
# Min/max statistics where readers filter: the identity, the position and the time.
STATISTICS_COLUMNS = frozenset({"icao24", "latitude", "longitude", "snapshot_time", "last_contact"})


class InvariantError(RuntimeError):
    """Rows were lost or duplicated between fetch and write: a bug, never a data problem."""


@dataclass(frozen=True)
class QualitySummary:
    snapshot_time: str
    api_time: int
    region: str
    records: int
    valid: int
    quarantined: int
    quality_score: float | None
    completeness: float | None
    countries: int
    on_ground_share: float | None
    reasons: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SnapshotResult:
    processed: pa.Table
    quarantine: pa.Table
    summary: QualitySummary
    processed_parquet: bytes
    quarantine_parquet: bytes

    def parquet(self) -> tuple[bytes, bytes]:
        """(processed, quarantine) as Parquet bytes."""
        return self.processed_parquet, self.quarantine_parquet


def transform(body: bytes, context: SnapshotContext) -> SnapshotResult:
    """Parse and validate a ``/states/all`` response (raises MalformedSnapshotError)."""
    return transform_parsed(parse_snapshot(body), context)


def transform_parsed(parsed: ParsedSnapshot, context: SnapshotContext) -> SnapshotResult:
    """Validate typed rows (raises InvalidSnapshotTime when the document's own time is absurd)."""
    lake.check_snapshot_time(datetime.fromtimestamp(parsed.api_time, UTC), context.ingested_at, "the document's time")
    with stage(RULES):
        table = _normalise(parsed.table)
        masks = rule_masks(table, parsed.api_time)
        if parsed.type_reasons:
            masks.update(_type_masks(parsed, table.num_rows))
        if MALFORMED_ROW in masks:  # a row that is not a state vector gets that reason alone
            fine = ~masks[MALFORMED_ROW]
            masks = {code: mask if code == MALFORMED_ROW else mask & fine for code, mask in masks.items()}
        valid_mask = pa.array(~np.logical_or.reduce(list(masks.values())))
    with stage(BUILD):
        metadata = _metadata(context, parsed.api_time)
        processed = _processed(table.filter(valid_mask), metadata)
    # The quarantine and the summary on the second core while this one encodes the processed
    # rows, the longest step; should the worker not have started by then, this core does it.
    side = background.Job(_quarantine_and_summary, parsed, table, processed, masks, metadata, context)
    processed_parquet = to_parquet(processed)
    quarantine, quarantine_parquet, summary = side.result()
    if processed.num_rows + quarantine.num_rows != parsed.record_count:
        raise InvariantError(
            f"snapshot {context.snapshot_time.isoformat()} {context.region}: fetched {parsed.record_count} "
            f"!= valid {processed.num_rows} + quarantined {quarantine.num_rows}"
        )
    return SnapshotResult(processed, quarantine, summary, processed_parquet, quarantine_parquet)


def _quarantine_and_summary(
    parsed: ParsedSnapshot,
    table: pa.Table,
    processed: pa.Table,
    masks: dict[str, np.ndarray],
    metadata: dict[str, pa.Scalar],
    context: SnapshotContext,
) -> tuple[pa.Table, bytes, QualitySummary]:
    """The rows that broke a rule, with their reasons, as a table and as Parquet; the summary."""
    with stage(RULES):
        bad_rows, reasons = reasons_by_row(masks)
    with stage(BUILD):
        quarantine = _quarantine(parsed, table, bad_rows, reasons, metadata)
        summary = _summary(parsed, table, processed, masks, context)
    return quarantine, to_parquet(quarantine), summary


def _normalise(table: pa.Table) -> pa.Table:
    """Callsign stripped, empty → null. Integer-valued floats are already floats (schema types)."""
    callsign = pc.utf8_trim_whitespace(table["callsign"])
    callsign = pc.if_else(pc.equal(callsign, ""), pa.scalar(None, pa.string()), callsign)
    return table.set_column(table.schema.get_field_index("callsign"), "callsign", callsign)


def _type_masks(parsed: ParsedSnapshot, n: int) -> dict[str, np.ndarray]:
    masks: dict[str, np.ndarray] = {}
    for row, codes in parsed.type_reasons.items():
        for code in codes:
            masks.setdefault(code, np.zeros(n, bool))[row] = True
    return masks


def _metadata(context: SnapshotContext, api_time: int) -> dict[str, pa.Scalar]:
    ts = pa.timestamp("ms")
    return {
        "snapshot_time": pa.scalar(context.snapshot_time.replace(tzinfo=None), ts),
        "api_time": pa.scalar(datetime.fromtimestamp(api_time, UTC).replace(tzinfo=None), ts),
        "region": pa.scalar(context.region, pa.string()),
        "ingested_at": pa.scalar(lake.as_utc(context.ingested_at).replace(tzinfo=None), ts),
    }


def _processed(valid: pa.Table, metadata: dict[str, pa.Scalar]) -> pa.Table:
    n = valid.num_rows
    columns = {name: valid[name] for name in valid.column_names}
    columns["baro_altitude_ft"] = pc.multiply(valid["baro_altitude"], pa.scalar(METRES_TO_FEET, pa.float32()))
    for name, value in metadata.items():
        columns[name] = pa.repeat(value, n)
    return pa.table([columns[f.name] for f in PROCESSED_SCHEMA], schema=PROCESSED_SCHEMA)


def _quarantine(
    parsed: ParsedSnapshot,
    table: pa.Table,
    bad_rows: pa.Array,
    reasons: pa.ListArray,
    metadata: dict[str, pa.Scalar],
) -> pa.Table:
    n = len(bad_rows)
    records = parsed.row_json(bad_rows.to_pylist())
    columns = {
        "icao24": pc.take(table["icao24"], bad_rows),
        "reasons": reasons,
        "record": pa.array(records, pa.string()),
        **{name: pa.repeat(value, n) for name, value in metadata.items()},
    }
    return pa.table([columns[f.name] for f in QUARANTINE_SCHEMA], schema=QUARANTINE_SCHEMA)


def _summary(
    parsed: ParsedSnapshot,
    table: pa.Table,
    processed: pa.Table,
    masks: dict[str, np.ndarray],
    context: SnapshotContext,
) -> QualitySummary:
    records = parsed.record_count
    valid = processed.num_rows
    with_position = pc.sum(pc.and_(pc.is_valid(table["latitude"]), pc.is_valid(table["longitude"]))).as_py()
    on_ground = pc.sum(processed["on_ground"]).as_py() or 0
    return QualitySummary(
        snapshot_time=context.snapshot_time.isoformat().replace("+00:00", "Z"),
        api_time=parsed.api_time,
        region=context.region,
        records=records,
        valid=valid,
        quarantined=records - valid,
        quality_score=round(valid / records, 6) if records else None,
        completeness=round((with_position or 0) / records, 6) if records else None,
        countries=pc.count_distinct(processed["origin_country"]).as_py(),
        on_ground_share=round(on_ground / valid, 6) if valid else None,
        reasons={code: n for code, mask in masks.items() if (n := int(np.count_nonzero(mask)))},
    )


def to_parquet(table: pa.Table) -> bytes:
    """Parquet bytes for a minutely file, each column encoded and compressed the way that
    measured smallest for the time it takes (see ``make bench``)."""
    sink = pa.BufferOutputStream()
    with stage(ENCODE):
        pq.write_table(table, sink, **_writer_options(table.schema))
        return sink.getvalue().to_pybytes()


@functools.cache
def _writer_options(schema: pa.Schema) -> dict[str, Any]:
    """``pq.write_table``'s options for a schema, worked out once per schema."""
    encodings = {f.name: _encoding(f) for f in schema}
    compression = {f.name: _compression(f) for f in schema}
    return {
        "compression": compression,
        "compression_level": {name: ZSTD_LEVEL for name, codec in compression.items() if codec == "zstd"},
        "use_dictionary": [name for name, encoding in encodings.items() if encoding is None],
        "column_encoding": {name: encoding for name, encoding in encodings.items() if encoding},
        "write_statistics": [name for name in schema.names if name in STATISTICS_COLUMNS],
    }


def _compression(field: pa.Field) -> str:
    """zstd at its fast level where it pays. Floats take LZ4 (the LZ4_RAW codec, which Athena
    reads): on the benchmark snapshot zstd made them an eighth smaller (32 KB of 278) for
    0.7 ms more, a sixth of the whole ETL's margin over the JSON parse. A column with one
    value per file, or one bit per row, is a few bytes that a codec would only spend time on."""
    if field.name in METADATA_NAMES or pa.types.is_boolean(field.type):
        return "none"
    return "lz4" if pa.types.is_floating(field.type) else "zstd"


def _encoding(field: pa.Field) -> str | None:
    """A column's Parquet encoding; None means dictionary encoding."""
    if pa.types.is_floating(field.type):
        # Not BYTE_STREAM_SPLIT: under LZ4 it made the benchmark snapshot's file 5 KB larger
        # (278 KB against 273) and cost the same time (make bench, alternating runs).
        return "PLAIN"
    if field.name in UNIQUE_TEXT_COLUMNS:
        return "DELTA_LENGTH_BYTE_ARRAY"
    return None
