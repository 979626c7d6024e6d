"""Hourly compaction: CTAS an hour of minutely files into a run-specific location, check the
row count, then point the curated hour's partition at the new files and remove the old ones.

Rerunning an hour leaves exactly one copy: readers see the old files until the partition
moves, then only the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from flightdata import config, lake

log = logging.getLogger(__name__)


class CompactionMismatch(RuntimeError):
    """The compacted hour does not hold exactly the rows of its minutely files."""


def hour_to_compact(logical_date: datetime, hour_param: str | None) -> datetime:
    """The hour given as a parameter (``YYYY-MM-DDTHH``), else the hour before the run's."""
    if hour_param:
        try:
            when = datetime.strptime(hour_param, "%Y-%m-%dT%H").replace(tzinfo=lake.as_utc(logical_date).tzinfo)
        except ValueError:
            raise ValueError(f"param 'hour' must look like 2026-01-31T17, got {hour_param!r}") from None
        return when
    return lake.as_utc(logical_date).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def minutes_of(hour: datetime) -> list[datetime]:
    return [hour + timedelta(minutes=m) for m in range(60)]


MINUTELY_DAG_ID = "opensky_flights"


def hour_is_complete(ti: Any, hour: datetime) -> bool:
    """True once no minutely run of the hour is still queued or running and its last minute has
    finished. ``ti`` is the running task instance (its ``get_dr_count`` asks the Airflow API)."""
    minutes = minutes_of(hour)
    unfinished = ti.get_dr_count(dag_id=MINUTELY_DAG_ID, logical_dates=minutes, states=["queued", "running"])
    last_done = ti.get_dr_count(dag_id=MINUTELY_DAG_ID, logical_dates=minutes[-1:], states=["success", "failed"])
    return unfinished == 0 and last_done == 1


def plan(names: config.Resources, hour: datetime, run_id: str, try_number: int) -> dict[str, Any]:
    """Where this run writes: a staging table and location unique to the run and its try."""
    token = hashlib.sha1(f"{run_id}/{try_number}".encode(), usedforsecurity=False).hexdigest()[:12]
    values = lake.partition_values(hour)
    return {
        "hour": hour.isoformat(),
        "partition": values,
        "partition_filter": lake.partition_filter(values),
        "staging_table": f"curated_staging_{token}",
        "staging_location": f"{names.table_location(config.CURATED)}{lake.partition_path(hour)}/run={token}/",
    }


def check_counts(row: dict[str, str | None]) -> int:
    compacted, minutely = int(row["compacted_rows"] or 0), int(row["minutely_rows"] or 0)
    if compacted != minutely:
        raise CompactionMismatch(f"compacted hour holds {compacted} rows but its minutely files hold {minutely}")
    return compacted


def publish(glue: Any, s3: Any, names: config.Resources, plan: dict[str, Any]) -> dict[str, Any]:
    """Point the curated hour at the staging files, then delete what it pointed at before."""
    table = glue.get_table(DatabaseName=names.glue_database, Name=names.tables[config.CURATED])["Table"]
    values = list(plan["partition"].values())
    descriptor = {**table["StorageDescriptor"], "Location": plan["staging_location"]}
    previous = None
    try:
        existing = glue.get_partition(
            DatabaseName=names.glue_database, TableName=table["Name"], PartitionValues=values
        )["Partition"]
        previous = existing["StorageDescriptor"]["Location"]
        glue.update_partition(
            DatabaseName=names.glue_database,
            TableName=table["Name"],
            PartitionValueList=values,
            PartitionInput={"Values": values, "StorageDescriptor": descriptor},
        )
    except glue.exceptions.EntityNotFoundException:
        glue.create_partition(
            DatabaseName=names.glue_database,
            TableName=table["Name"],
            PartitionInput={"Values": values, "StorageDescriptor": descriptor},
        )
    removed = delete_prefix(s3, previous) if previous and previous != plan["staging_location"] else 0
    drop_staging_table(glue, names, plan)
    log.info("curated hour %s now at %s (%d old objects removed)", plan["hour"], plan["staging_location"], removed)
    return {"location": plan["staging_location"], "previous": previous, "removed_objects": removed}


def discard(glue: Any, s3: Any, names: config.Resources, plan: dict[str, Any]) -> int:
    """Remove what a failed run staged, leaving the curated hour as it was."""
    drop_staging_table(glue, names, plan)
    return delete_prefix(s3, plan["staging_location"])


def drop_staging_table(glue: Any, names: config.Resources, plan: dict[str, Any]) -> None:
    with contextlib.suppress(glue.exceptions.EntityNotFoundException):
        glue.delete_table(DatabaseName=names.glue_database, Name=plan["staging_table"])


def delete_prefix(s3: Any, location: str) -> int:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
    return removed
