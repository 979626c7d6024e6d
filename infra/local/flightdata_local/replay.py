"""Simulated time replayed into the lake, in seconds rather than hours: the state vectors the
simulator's fleet sends each minute the credit plan fetches, through the same ETL as the
transform Lambda.

- :func:`write_hours` writes whole hours straight into the curated table, one Parquet file
  an hour, as compaction would: no minutely files or commits, so the report's
  reconciliation (which starts from the commits) does not list them.
- :func:`write_minutes` writes minutes as the transform Lambda does (processed, quarantine,
  commit), for compaction to compact with the minutes the pipeline fetches live.

The flights benchmark and tests segment what it writes; ``make demo`` replays the hours
before its live minutes, so that its day has whole flights.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
import pyarrow as pa

from flightdata import lake, resources
from flightdata.etl.snapshot import process_snapshot
from flightdata.etl.transform import to_parquet, transform
from flightdata.orchestration import pacing, partitions
from flightdata.orchestration.partitions import repoint_partition
from flightdata.storage import S3Store

REPLAY_FILE = "replay.parquet"


class Source(Protocol):
    """What is replayed: the simulator's fleet, or a recording (``opensky_sim.recorded``)."""

    def states_at(self, at: int) -> list[Any]: ...


def body(source: Source, minute: datetime) -> bytes:
    """The minute's snapshot as the JSON body OpenSky would send."""
    at = int(minute.timestamp())
    return orjson.dumps({"time": at, "states": source.states_at(at)})


def snapshots(source: Source, hour: datetime) -> Iterator[tuple[datetime, bytes]]:
    """The hour's minutes the credit plan fetches, each as the JSON body OpenSky would send."""
    for minute in pacing.planned_minutes(hour):
        yield minute, body(source, minute)


def curated_hour(source: Source, hour: datetime) -> pa.Table:
    """The hour's valid rows as compaction would write them: sorted by aircraft and time."""
    tables = []
    for minute, body in snapshots(source, hour):
        context = lake.SnapshotContext(minute, "global", ingested_at=minute + timedelta(seconds=20))
        tables.append(transform(body, context).processed)
    table = pa.concat_tables(tables)
    return table.sort_by([("icao24", "ascending"), ("snapshot_time", "ascending")])


def write_hours(s3: Any, glue: Any, names: resources.Resources, source: Source, start: datetime, hours: int) -> int:
    """Write ``hours`` curated hours from ``start``; returns the rows written."""
    rows = 0
    for h in range(hours):
        hour = start + timedelta(hours=h)
        table = curated_hour(source, hour)
        prefix = f"{resources.CURATED}/{lake.partition_path(hour)}/replay/"
        s3.put_object(Bucket=names.lake_bucket, Key=prefix + REPLAY_FILE, Body=to_parquet(table))
        values = list(lake.partition_values(hour).values())
        parameters = {"flightdata.rows": str(table.num_rows), "flightdata.replayed": "true"}
        repoint_partition(glue, names, resources.CURATED, values, f"s3://{names.lake_bucket}/{prefix}", parameters)
        rows += table.num_rows
    return rows


def write_minutes(s3: Any, glue: Any, names: resources.Resources, source: Source, minutes: list[datetime]) -> int:
    """Write each minute as the transform Lambda would, and register its hour's partitions;
    returns the valid rows written."""
    store = S3Store(names.lake_bucket, s3)
    rows = 0
    for minute in minutes:
        written = process_snapshot(store, body(source, minute), lake.SnapshotContext(minute, "global"))
        rows += written.result.summary.valid
    for hour in sorted({m.replace(minute=0) for m in minutes}):
        partitions.register_partitions(glue, names, hour)
    return rows
