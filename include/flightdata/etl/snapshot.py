"""Writing one transformed snapshot into the lake layout (processed, quarantine, optional raw)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

from flightdata import lake
from flightdata.etl.parse import ParsedSnapshot
from flightdata.etl.transform import SnapshotContext, SnapshotResult, transform, transform_parsed
from flightdata.storage import ObjectStore, put_all

PARQUET = "application/vnd.apache.parquet"
RAW_CONTENT_TYPE = "application/gzip"  # the OpenSky response, gzipped as sent
RAW_GZIP_LEVEL = 6


@dataclass(frozen=True)
class WrittenSnapshot:
    result: SnapshotResult
    keys: dict[str, str]

    def report(self) -> dict[str, Any]:
        return {**self.result.summary.as_dict(), "keys": self.keys}


def raw_object(body: bytes, context: SnapshotContext) -> tuple[str, bytes, str]:
    return lake.raw_key(context.snapshot_time, context.region), gzip.compress(body, RAW_GZIP_LEVEL), RAW_CONTENT_TYPE


def process_snapshot(
    store: ObjectStore,
    body: bytes,
    context: SnapshotContext,
    *,
    keep_raw: bool = False,
    parsed: ParsedSnapshot | None = None,
) -> WrittenSnapshot:
    """Transform ``body`` and write processed and quarantine Parquet (and the raw gzip if asked).

    ``parsed`` saves parsing again when the caller already parsed ``body``. Malformed input
    raises before anything is written; a failed write leaves nothing behind.
    """
    result = transform_parsed(parsed, context) if parsed is not None else transform(body, context)
    when, region = context.snapshot_time, context.region
    processed, quarantine = result.parquet()
    objects = {
        "processed": (lake.processed_key(when, region), processed, PARQUET),
        "quarantine": (lake.quarantine_key(when, region), quarantine, PARQUET),
    }
    if keep_raw:
        objects = {"raw": raw_object(body, context), **objects}
    put_all(store, list(objects.values()))
    return WrittenSnapshot(result, {kind: key for kind, (key, _, _) in objects.items()})
