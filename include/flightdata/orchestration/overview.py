"""What the flightdata plugin's pages show, read through the AWS connection (so the same code
serves MWAA and the local stack): the last day per hour, the latest snapshot's positions, a
report, lake objects and Athena queries. Each function takes the clients it reads and
returns plain data; ``flightdata.orchestration.webapp`` serves it.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata import lake, resources, schema
from flightdata.resources import MetricName, Resources
from flightdata.storage import S3Store

HOURS = 24
MAX_LISTED = 1000
PREVIEW_BYTES = 64 * 1024
_FIELDS = {c.name: c.api_index for c in schema.STATE_VECTOR}


def _hour(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:00Z")


def _hourly(cloudwatch: Any, names: Resources, metric: str, since: datetime, until: datetime) -> dict[str, float]:
    """The metric's hourly sum over every region: its series without a ``Region`` dimension."""
    points = cloudwatch.get_metric_statistics(
        Namespace=names.metrics_namespace,
        MetricName=metric,
        StartTime=since,
        EndTime=until,
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return {_hour(point["Timestamp"].astimezone(UTC)): point["Sum"] for point in points}


def _credits_left(cloudwatch: Any, names: Resources, since: datetime, until: datetime) -> float | None:
    points = cloudwatch.get_metric_statistics(
        Namespace=names.metrics_namespace,
        MetricName=MetricName.CREDITS_LEFT,
        StartTime=since,
        EndTime=until,
        Period=60,
        Statistics=["Minimum"],
    )["Datapoints"]
    latest = max(points, key=lambda p: p["Timestamp"], default=None)
    return None if latest is None else latest["Minimum"]


def _compactions(glue: Any, names: Resources, hours: list[datetime]) -> dict[str, dict[str, str]]:
    """Each compacted hour's Glue partition parameters (rows, minutes, completeness, when)."""
    wanted = [list(lake.partition_values(hour).values()) for hour in hours]
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(wanted), 100):
        batch = glue.batch_get_partition(
            DatabaseName=names.glue_database,
            TableName=names.tables[resources.CURATED],
            PartitionsToGet=[{"Values": values} for values in wanted[start : start + 100]],
        )
        for partition in batch.get("Partitions", []):
            year, month, day, hour = (int(v) for v in partition["Values"])
            key = _hour(datetime(year, month, day, hour, tzinfo=UTC))
            found[key] = {k.removeprefix("flightdata."): v for k, v in partition.get("Parameters", {}).items()}
    return found


def reports(s3: Any, names: Resources, limit: int = 7) -> list[str]:
    """The days with a published report, newest first."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=names.lake_bucket, Prefix=f"{resources.REPORTS}/date=", Delimiter="/"
    )
    days = [p["Prefix"].split("date=", 1)[1].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])]
    return sorted(days, reverse=True)[:limit]


def last_day(s3: Any, glue: Any, cloudwatch: Any, names: Resources, now: datetime | None = None) -> dict[str, Any]:
    """The overview: per hour of the last day, records, valid share, compaction; credits left;
    the latest reports."""
    until = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    since = until - timedelta(hours=HOURS)
    hours = [since + timedelta(hours=i) for i in range(HOURS)]
    records = _hourly(cloudwatch, names, MetricName.RECORDS, since, until)
    valid = _hourly(cloudwatch, names, MetricName.VALID_RECORDS, since, until)
    compacted = _compactions(glue, names, hours)
    rows = []
    for hour in reversed(hours):
        key = _hour(hour)
        total = records.get(key)
        rows.append(
            {
                "hour": key,
                "records": None if total is None else int(total),
                "quality": None if not total else round(valid.get(key, 0.0) / total, 4),
                "compaction": compacted.get(key),
            }
        )
    return {
        "hours": rows,
        "credits_left": _credits_left(cloudwatch, names, since, until),
        # freshness deadlines missed by any DAG (Airflow 3.1 and later: flightdata.orchestration.deadlines)
        "deadlines_missed": int(sum(_hourly(cloudwatch, names, MetricName.DEADLINE_MISSED, since, until).values())),
        "reports": reports(s3, names),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _latest_raw_keys(lake_store: S3Store, now: datetime) -> list[str]:
    """The raw objects of the newest minute, looking back up to a day, hour by hour."""
    for back in range(HOURS + 1):
        keys = sorted(lake_store.list(lake.hour_prefix(resources.RAW, now - timedelta(hours=back))))
        if keys:
            newest = lake.minute_of_key(keys[-1])
            return [key for key in keys if lake.minute_of_key(key) == newest]
    return []


def latest_positions(s3: Any, names: Resources, now: datetime | None = None) -> dict[str, Any]:
    """The positions in the newest raw snapshot(s): [longitude, latitude, on_ground, callsign]."""
    lake_store = S3Store(names.lake_bucket, s3)
    keys = _latest_raw_keys(lake_store, (now or datetime.now(UTC)).astimezone(UTC))
    positions: list[list[Any]] = []
    snapshot_time = None
    for key in keys:
        document = json.loads(gzip.decompress(lake_store.get(key)))
        snapshot_time = document.get("time", snapshot_time)
        for state in document.get("states") or []:
            lon, lat = state[_FIELDS["longitude"]], state[_FIELDS["latitude"]]
            if isinstance(lon, int | float) and isinstance(lat, int | float):
                callsign = (state[_FIELDS["callsign"]] or "").strip()
                positions.append([round(lon, 4), round(lat, 4), bool(state[_FIELDS["on_ground"]]), callsign])
    return {"keys": keys, "time": snapshot_time, "positions": positions}


LATEST = "latest"  # the newest day with a report, for the menu entry


def report_day(s3: Any, names: Resources, day: str) -> str:
    """``day`` itself when it is a day (``ValueError`` when it is nothing else: no path from
    user text), or for ``latest`` the newest day with a report (``KeyError`` when none)."""
    if day != LATEST:
        datetime.strptime(day, "%Y-%m-%d")
        return day
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=names.lake_bucket, Prefix=f"{resources.REPORTS}/date=", Delimiter="/"
    )
    days = [p["Prefix"].rstrip("/").split("=", 1)[1] for page in pages for p in page.get("CommonPrefixes", [])]
    if not days:
        raise KeyError(f"no report yet (s3://{names.lake_bucket}/{resources.REPORTS}/)")
    return max(days)


def report_html(s3: Any, names: Resources, day: str) -> str:
    """The day's HTML report (a day as ``report_day`` reads it); ``KeyError`` when there is none."""
    key = f"{resources.REPORTS}/date={day}/report.html"
    try:
        return s3.get_object(Bucket=names.lake_bucket, Key=key)["Body"].read().decode()
    except s3.exceptions.NoSuchKey:
        raise KeyError(f"no report for {day} (s3://{names.lake_bucket}/{key})") from None


def lake_objects(s3: Any, names: Resources, keys: list[str], prefix: str | None) -> dict[str, Any]:
    """Objects by key (size, type, time, a text preview when small) or a prefix listing."""
    if prefix is not None:
        page = s3.list_objects_v2(Bucket=names.lake_bucket, Prefix=prefix, MaxKeys=MAX_LISTED)
        listed = [{"key": o["Key"], "size": o["Size"]} for o in page.get("Contents", [])]
        return {"bucket": names.lake_bucket, "prefix": prefix, "objects": listed, "truncated": page["IsTruncated"]}
    objects = []
    for key in keys:
        try:
            head = s3.head_object(Bucket=names.lake_bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            objects.append({"key": key, "error": exc.response["Error"].get("Code", "error")})
            continue
        item = {
            "key": key,
            "size": head["ContentLength"],
            "content_type": head.get("ContentType"),
            "last_modified": head["LastModified"].isoformat(),
        }
        if key.endswith((".json", ".csv", ".html")) and head["ContentLength"] <= PREVIEW_BYTES:
            item["preview"] = s3.get_object(Bucket=names.lake_bucket, Key=key)["Body"].read().decode(errors="replace")
        objects.append(item)
    return {"bucket": names.lake_bucket, "objects": objects}


def query(athena: Any, query_id: str, max_rows: int = 100) -> dict[str, Any]:
    """An Athena query's text, state, statistics and first rows."""
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    status = execution["Status"]
    answer: dict[str, Any] = {
        "id": query_id,
        "query": execution.get("Query"),
        "state": status["State"],
        "reason": status.get("StateChangeReason"),
        "statistics": execution.get("Statistics", {}),
        "output": execution.get("ResultConfiguration", {}).get("OutputLocation"),
        "rows": [],
    }
    if status["State"] == "SUCCEEDED" and execution.get("StatementType") == "DML":
        result = athena.get_query_results(QueryExecutionId=query_id, MaxResults=max_rows)["ResultSet"]["Rows"]
        answer["rows"] = [[cell.get("VarCharValue") for cell in row["Data"]] for row in result]
    return answer
