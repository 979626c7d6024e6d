"""Every CloudWatch ``MetricData`` the DAGs publish, built in one place (``aws.put_metrics``
sends them to the project's namespace): the minute's quality and credits, the compacted
hour, the reported day. The stack's alarms and dashboard, and the overview page, read these
names."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flightdata import credits, lake
from flightdata.orchestration import compaction, lambda_calls, minutely, pacing
from flightdata.resources import MetricName

log = logging.getLogger(__name__)


def quality_metric_data(summaries: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` for each region's ETL summary."""
    now = now or datetime.now(UTC)
    data: list[dict[str, Any]] = []
    for s in summaries:
        when = lake.parse_snapshot_time(s["snapshot_time"])
        dims = [{"Name": "Region", "Value": s["region"]}]
        values = {
            (MetricName.RECORDS, "Count"): s["records"],
            (MetricName.VALID_RECORDS, "Count"): s["valid"],
            (MetricName.QUARANTINED_RECORDS, "Count"): s["quarantined"],
            (MetricName.QUALITY_SCORE, "Percent"): None if s["quality_score"] is None else 100 * s["quality_score"],
            (MetricName.COMPLETENESS, "Percent"): None if s["completeness"] is None else 100 * s["completeness"],
            (MetricName.END_TO_END_LATENCY, "Seconds"): (now - when).total_seconds(),
            (MetricName.CREDITS_REMAINING, "Count"): s.get("credits_remaining"),
        }
        for (name, unit), value in values.items():
            if value is not None:
                data.append({"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": value, "Unit": unit})
    return data + all_regions_metric_data(summaries)


def all_regions_metric_data(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The minute's counts over every region it fetched, without a ``Region`` dimension: what
    the stack's alarms and dashboard read, whatever regions a deployment runs (CloudWatch
    does not add series up across dimensions for an alarm)."""
    if not summaries:
        return []
    when = lake.parse_snapshot_time(summaries[0]["snapshot_time"])
    records = sum(int(s["records"]) for s in summaries)
    valid = sum(int(s["valid"]) for s in summaries)
    values = {
        (MetricName.RECORDS, "Count"): records,
        (MetricName.VALID_RECORDS, "Count"): valid,
        (MetricName.QUARANTINED_RECORDS, "Count"): sum(int(s["quarantined"]) for s in summaries),
        (MetricName.QUALITY_SCORE, "Percent"): 100 * valid / records if records else None,
    }
    return [
        {"MetricName": name, "Timestamp": when, "Value": value, "Unit": unit}
        for (name, unit), value in values.items()
        if value is not None
    ]


def credit_metric_data(ingested: list[str] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` for OpenSky credits this minute: spent, remaining, and, with
    a tier set, the balance projected at the next refill if the plan runs as planned (the
    stack alarms when that falls below the reserve). At the first planned fetch of a refill
    period the remaining credits are checked against the tier's allowance, and a mismatch
    (a wrong tier setting, or credits spent elsewhere) is logged."""
    answers = [lambda_calls.answer(result) for result in ingested]  # skipped ones say what is left too
    landed = [r for r in answers if r.get("status") in ("ok", "skipped") and r.get("credits_remaining") is not None]
    if not landed:
        return []
    when = lake.parse_snapshot_time(landed[0]["snapshot_time"])
    remaining = min(int(r["credits_remaining"]) for r in landed)
    spent = sum(int(r.get("credits_spent") or 0) for r in landed if r.get("status") == "ok")
    data = [
        {"MetricName": MetricName.CREDITS_SPENT, "Timestamp": when, "Value": spent, "Unit": "Count"},
        {"MetricName": MetricName.CREDITS_LEFT, "Timestamp": when, "Value": remaining, "Unit": "Count"},
    ]
    plan = pacing.credit_plan(minutely.DEFAULT_REGIONS, minutely.DEFAULT_CREDIT_RESERVE)
    if plan is None:
        return data
    minute = credits.minute_of_day(when)
    period = plan.tier.refill_minutes
    start = minute - minute % period
    later = sum(plan.fetches_at(m) for m in range(minute + 1, start + period))
    projected = remaining - later * plan.credits_per_fetch
    data.append(
        {"MetricName": MetricName.PROJECTED_CREDITS_AT_REFILL, "Timestamp": when, "Value": projected, "Unit": "Count"}
    )
    first = next((m for m in range(start, start + period) if plan.fetches_at(m)), None)
    if minute == first and remaining + spent != plan.tier.credits:
        log.warning(
            "OpenSky reports %d credits at the first call of the %s period, but tier %r grants %d: "
            "check flightdata.opensky_tier (or credits were spent elsewhere)",
            remaining + spent,
            "day" if period == credits.MINUTES_PER_DAY else "hour",
            plan.tier.name,
            plan.tier.credits,
        )
    return data


def hour_metric_data(hour: datetime, counts: dict[str, int]) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` for a compacted hour: its completeness and rows."""
    counts = {**counts, "minutes_planned": len(pacing.planned_minutes(hour))}
    return [
        {
            "MetricName": MetricName.HOUR_COMPLETENESS,
            "Timestamp": hour,
            "Value": 100 * compaction.completeness(counts),
            "Unit": "Percent",
        },
        {"MetricName": MetricName.COMPACTED_ROWS, "Timestamp": hour, "Value": counts["rows"], "Unit": "Count"},
    ]


def reconciliation_metric_data(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData``: hours of the day whose curated rows differ from their commits
    (the stack alarms on any)."""
    day = datetime.strptime(summary["day"], "%Y-%m-%d").replace(tzinfo=UTC)
    return [
        {
            "MetricName": MetricName.HOURS_NOT_RECONCILED,
            "Timestamp": day,
            "Value": len(summary["hours_not_reconciled"]),
            "Unit": "Count",
        }
    ]


def deadline_metric_data(dag_id: str) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData``: one missed freshness deadline, for ``dag_id`` and over every DAG
    (the series the stack alarms on)."""
    datum = {"MetricName": MetricName.DEADLINE_MISSED, "Value": 1, "Unit": "Count"}
    return [{**datum, "Dimensions": [{"Name": "dag_id", "Value": dag_id}]}, datum]
