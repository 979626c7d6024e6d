"""What the soak checks in the lake when the runs are over, snapshot by snapshot and hour by
hour (the checks ``flightdata_local.soak`` describes), and in the daily reports."""

from __future__ import annotations

import gzip
import io
import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq

from flightdata import lake, resources
from flightdata.etl.commit import Commit, sha256
from flightdata.storage import S3Store
from flightdata_local.services import LocalServices


def audit_lake(stack: LocalServices, window: list[datetime], hours: list[datetime]) -> dict[str, Any]:
    """Lost rows, half-written snapshots and reconciled hours of the soaked ``window``."""
    s3 = stack.client("s3")
    store = S3Store(stack.names.lake_bucket, s3)
    keys, body = store.list, store.get
    minutes = set(window)
    problems: list[str] = []
    lost = half = committed = 0
    committed_rows: dict[datetime, int] = defaultdict(int)
    named: set[str] = set()
    for hour in hours:
        for key in keys(lake.hour_prefix(resources.COMMITS, hour)):
            commit = Commit.from_parquet(body(key))
            if commit.snapshot_time not in minutes:
                continue
            committed += 1
            committed_rows[hour] += commit.valid
            named.update(commit.keys)
            if commit.records != commit.valid + commit.quarantined:
                lost += commit.records - commit.valid - commit.quarantined
                problems.append(f"{key}: fetched {commit.records} != valid + quarantined")
            for object_key, digest in (
                (commit.processed_key, commit.processed_sha256),
                (commit.quarantine_key, commit.quarantine_sha256),
            ):
                try:
                    if sha256(body(object_key)) != digest:
                        half += 1
                        problems.append(f"{object_key}: checksum differs from its commit")
                except s3.exceptions.NoSuchKey:
                    half += 1
                    problems.append(f"{object_key}: named by {key} but missing")
        for kind in (resources.PROCESSED, resources.QUARANTINE):
            for key in keys(lake.hour_prefix(kind, hour)):
                if lake.minute_of_key(key) in minutes and key not in named:
                    half += 1
                    problems.append(f"{key}: no commit names it")
        for key in keys(lake.hour_prefix(resources.RAW, hour)):
            minute = lake.minute_of_key(key)
            region = key.rsplit("/", 1)[-1].split("_", 1)[1].split(".", 1)[0]
            if minute in minutes and not store.exists(lake.commit_key(minute, region)):
                rows = len(json.loads(gzip.decompress(body(key))).get("states") or [])
                lost += rows
                problems.append(f"{key}: landed with {rows} rows, never committed")
    reconciled = 0
    for hour in hours:
        # each hour was compacted more than once (a late minute's recompaction, then the
        # backfill's): only the last compaction's files may stay
        runs = {
            key.split("/run=")[1].split("/")[0] for key in keys(f"{resources.CURATED}/{lake.partition_path(hour)}/")
        }
        curated = curated_rows(stack, hour)
        if len(runs) > 1:
            problems.append(f"hour {hour:%H}: the files of {len(runs)} compactions stay: {sorted(runs)}")
        elif curated != committed_rows[hour]:
            problems.append(f"hour {hour:%H}: curated {curated} != committed {committed_rows[hour]}")
        else:
            reconciled += 1
    return {
        "committed": committed,
        "lost_rows": lost,
        "half_snapshots": half,
        "reconciled": reconciled,
        "problems": problems,
    }


def audit_reports(stack: LocalServices, days: list[str], hours: list[datetime]) -> list[str]:
    """The daily report of each day exists and finds every soaked hour reconciled."""
    s3 = stack.client("s3")
    problems = []
    for day in days:
        key = f"{resources.REPORTS}/date={day}/summary.json"
        try:
            summary = json.loads(s3.get_object(Bucket=stack.names.lake_bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            problems.append(f"no daily report for {day}")
            continue
        ours = {f"{h:%H}" for h in hours if f"{h:%Y-%m-%d}" == day}
        flagged = sorted(ours & set(summary["hours_not_reconciled"]))
        if flagged:
            problems.append(f"the report of {day} finds hours {flagged} not reconciled")
    return problems


def curated_rows(stack: LocalServices, hour: datetime) -> int:
    """Rows in the curated hour, read from the files its Glue partition points at."""
    glue, s3 = stack.client("glue"), stack.client("s3")
    try:
        partition = glue.get_partition(
            DatabaseName=stack.names.glue_database,
            TableName=stack.names.tables[resources.CURATED],
            PartitionValues=list(lake.partition_values(hour).values()),
        )["Partition"]
    except glue.exceptions.EntityNotFoundException:
        return 0
    bucket, _, prefix = partition["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            data = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            total += pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    return total
