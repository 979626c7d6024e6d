"""The daily report's day, and publishing its results to the lake's reports/ prefix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata import lake, reporting, resources
from flightdata.orchestration import flights
from flightdata.orchestration.compat import AirflowSkipException
from flightdata.orchestration.queries import bytes_scanned, result_rows


def plan_day(logical_date: datetime | None, day_param: str | None) -> dict[str, Any]:
    """The day given as a parameter, else the day before the run's logical date (or before
    now, for a run triggered without one, as Airflow 3 triggers manual runs)."""
    if day_param:
        try:
            day = datetime.strptime(day_param, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"param 'day' must look like 2026-01-31, got {day_param!r}") from None
    else:
        when = lake.as_utc(logical_date) if logical_date is not None else datetime.now(UTC)
        day = when.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return {
        "day": f"{day:%Y-%m-%d}",
        "partition_filter": lake.day_filter(day),
        "prefix": f"{resources.REPORTS}/date={day:%Y-%m-%d}/",
    }


def plan(
    names: resources.Resources, logical_date: datetime | None, day_param: str | None, run_id: str, try_number: int
) -> dict[str, Any]:
    """The report's day (:func:`plan_day`) and, under ``flights``, what segmenting it reads
    and where this run stages it."""
    day = plan_day(logical_date, day_param)
    midnight = datetime.strptime(day["day"], "%Y-%m-%d").replace(tzinfo=UTC)
    return {**day, "flights": flights.plan(names, midnight, run_id, try_number)}


def publish(athena: Any, s3: Any, names: resources.Resources, plan: dict[str, Any], query_ids: dict[str, str]) -> dict:
    results = {
        name: reporting.QueryResult(result_rows(athena, query_id), bytes_scanned(athena, query_id))
        for name, query_id in query_ids.items()
    }
    keys = {}
    for name, result in results.items():
        key = f"{plan['prefix']}{name}.csv"
        s3.put_object(
            Bucket=names.lake_bucket, Key=key, Body=reporting.to_csv(result.rows).encode(), ContentType="text/csv"
        )
        keys[name] = key
    page = f"{plan['prefix']}report.html"
    s3.put_object(
        Bucket=names.lake_bucket,
        Key=page,
        Body=reporting.render_html(plan["day"], results).encode(),
        ContentType="text/html; charset=utf-8",
    )
    hours = results[reporting.RECONCILIATION].rows
    summary = {
        "day": plan["day"],
        "html": page,
        "headline": reporting.headline(results),
        "csv": keys,
        "bytes_scanned": {name: r.bytes_scanned for name, r in results.items()},
        "hours_with_data": len(hours),
        "empty": reporting.is_empty(results),
        "hours_not_reconciled": reporting.unreconciled_hours(hours),
    }
    s3.put_object(
        Bucket=names.lake_bucket,
        Key=f"{plan['prefix']}summary.json",
        Body=json.dumps(summary).encode(),
        ContentType="application/json",
    )
    return summary


def skip_if_empty(summary: dict[str, Any]) -> None:
    """End the run as skipped, not green, when the day had no data (the page says so too)."""
    if summary.get("empty"):
        raise AirflowSkipException(f"report for {summary['day']}: {reporting.EMPTY_DAY} (page: {summary['html']})")
