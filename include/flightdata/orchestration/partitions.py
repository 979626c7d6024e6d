"""Partitions in Glue: the hour a minutely run writes to, registered when it is new; and the
staged swap that compaction and flight segmentation share, where a query writes a run's
files to a location of its own, then the table's partition moves there and what it pointed
at before is deleted. Readers see the old files or the new ones, never a mix, and a failed
run's files are removed without touching what is published.

They take boto3 clients, not the provider's GlueCatalogHook and S3Hook: the hook has no
UpdatePartition or DeleteTable, which the swap needs, and the local harness (replay,
segment) runs these same functions outside Airflow."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from flightdata import lake, resources

log = logging.getLogger(__name__)


def publish_staged(
    glue: Any, s3: Any, names: resources.Resources, kind: str, plan: dict[str, Any], parameters: dict[str, str]
) -> tuple[str | None, int]:
    """Point the plan's partition of the ``kind`` table at the run's staged files, delete
    what it pointed at before and drop the staging table; (the previous location, the
    objects deleted). Readers see the old files or the new ones, never a mix."""
    staged = plan["staging_location"]
    previous = repoint_partition(glue, names, kind, list(plan["partition"].values()), staged, parameters)
    removed = delete_prefix(s3, previous) if previous and previous != staged else 0
    drop_staging_table(glue, names, plan)
    return previous, removed


def discard_staged(glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any]) -> int:
    """Remove what a failed run staged (its table and files); what is published stays."""
    drop_staging_table(glue, names, plan)
    return delete_prefix(s3, plan["staging_location"])


def repoint_partition(
    glue: Any, names: resources.Resources, kind: str, values: list[str], location: str, parameters: dict[str, str]
) -> str | None:
    """Point the partition ``values`` of the ``kind`` table at ``location`` (creating it if
    need be); returns where it pointed before, if it existed."""
    table = _table(glue, names, kind)
    partition = {"Values": values, "StorageDescriptor": _located(table, location), "Parameters": parameters}
    try:
        existing = glue.get_partition(
            DatabaseName=names.glue_database, TableName=table["Name"], PartitionValues=values
        )["Partition"]
    except glue.exceptions.EntityNotFoundException:
        glue.create_partition(DatabaseName=names.glue_database, TableName=table["Name"], PartitionInput=partition)
        return None
    glue.update_partition(
        DatabaseName=names.glue_database, TableName=table["Name"], PartitionValueList=values, PartitionInput=partition
    )
    return str(existing["StorageDescriptor"]["Location"])


def drop_staging_table(glue: Any, names: resources.Resources, plan: dict[str, Any]) -> None:
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


def register_partitions(glue: Any, names: resources.Resources, snapshot_time: datetime) -> list[str]:
    """Add the hour partition of the processed, quarantine and commit tables when it is new."""
    values = lake.partition_values(snapshot_time)
    added = []
    for kind in (resources.PROCESSED, resources.QUARANTINE, resources.COMMITS):
        table = _table(glue, names, kind)
        descriptor = _located(table, f"{names.table_location(kind)}{lake.partition_path(snapshot_time)}/")
        try:
            glue.create_partition(
                DatabaseName=names.glue_database,
                TableName=table["Name"],
                PartitionInput={"Values": list(values.values()), "StorageDescriptor": descriptor},
            )
            added.append(f"{table['Name']}/{lake.partition_path(snapshot_time)}")
        except glue.exceptions.AlreadyExistsException:
            log.info("partition %s of %s exists already", values, table["Name"])
    return added


def _table(glue: Any, names: resources.Resources, kind: str) -> dict[str, Any]:
    return glue.get_table(DatabaseName=names.glue_database, Name=names.tables[kind])["Table"]


def _located(table: dict[str, Any], location: str) -> dict[str, Any]:
    """The table's storage descriptor (columns, formats, SerDe) for a partition at ``location``."""
    return {**table["StorageDescriptor"], "Location": location}
