"""Hourly compaction: CTAS an hour of minutely files into a run-specific location, check the
row count, then point the curated hour's partition at the new files and remove the old ones.

Rerunning an hour leaves exactly one copy: readers see the old files until the partition
moves, then only the new ones.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata import checks, lake, resources
from flightdata.orchestration import minutely, pacing
from flightdata.orchestration.dag_defaults import STATE_VECTORS_DAG
from flightdata.orchestration.partitions import discard_staged, publish_staged
from flightdata.storage import S3Store

log = logging.getLogger(__name__)


class CompactionMismatch(RuntimeError):
    """The compacted hour does not hold exactly the rows of its minutely files."""


class EmptyHour(Exception):
    """No snapshot of the hour was committed: nothing to compact (a skip, not a failure)."""


def hour_to_compact(logical_date: datetime | None, hour_param: str | None) -> datetime:
    """The hour given as a parameter (``YYYY-MM-DDTHH``), else the hour before the run's.

    A run triggered without a logical date (the default for manual runs in Airflow 3) uses
    the time it runs at."""
    if hour_param:
        try:
            return datetime.strptime(hour_param, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"param 'hour' must look like 2026-01-31T17, got {hour_param!r}") from None
    when = lake.as_utc(logical_date) if logical_date is not None else datetime.now(UTC)
    return when.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def minutes_of(hour: datetime) -> list[datetime]:
    return [hour + timedelta(minutes=m) for m in range(60)]


UNFINISHED = ["queued", "running"]
MINUTES_PER_HOUR = 60


@dataclass(frozen=True)
class Readiness:
    """Whether an hour can be compacted, and if not, what it waits for (said in the log)."""

    ready: bool
    reason: str
    waiting_for: list[datetime] = field(default_factory=list)


def hour_readiness(ti: Any, hour: datetime, now: datetime | None = None) -> Readiness:
    """An hour is ready once it ended at least ``minutely.RUN_TIMEOUT`` ago and none of its
    minutely runs is queued or running. Minutes without a run do not hold it up: they are
    missing, and compaction records the hour's completeness. ``ti`` is the running task
    instance (its ``get_dr_count`` asks Airflow's execution API)."""
    now = now or datetime.now(UTC)
    ready_at = hour + timedelta(hours=1) + minutely.RUN_TIMEOUT
    if now < ready_at:
        end = hour + timedelta(hours=1)
        return Readiness(False, f"the hour ends at {end:%H:%M}; waiting until {ready_at:%H:%M} UTC for its last runs")
    unfinished = _unfinished_minutes(ti, minutes_of(hour))
    if unfinished:
        return Readiness(
            False,
            f"waiting for {len(unfinished)} minutely run(s) still queued or running: {minute_ranges(unfinished)}",
            unfinished,
        )
    return Readiness(True, "no minutely run of the hour is queued or running")


def _unfinished_minutes(ti: Any, minutes: list[datetime]) -> list[datetime]:
    """Which of ``minutes`` have a queued or running run: halves the range where the count is
    not zero, so a few calls find them (one when none is)."""
    if not ti.get_dr_count(dag_id=STATE_VECTORS_DAG, logical_dates=minutes, states=UNFINISHED):
        return []
    if len(minutes) == 1:
        return minutes
    middle = len(minutes) // 2
    return _unfinished_minutes(ti, minutes[:middle]) + _unfinished_minutes(ti, minutes[middle:])


def minute_ranges(minutes: list[datetime]) -> str:
    """'14:00-14:23, 14:59' for a list of minutes."""
    spans: list[list[datetime]] = []
    for minute in sorted(minutes):
        if spans and minute - spans[-1][1] == timedelta(minutes=1):
            spans[-1][1] = minute
        else:
            spans.append([minute, minute])
    return ", ".join(f"{a:%H:%M}" if a == b else f"{a:%H:%M}-{b:%H:%M}" for a, b in spans)


def missing_minutes(hour: datetime, present: list[datetime]) -> list[datetime]:
    have = set(present)
    return [m for m in minutes_of(hour) if m not in have]


def plan(names: resources.Resources, hour: datetime, run_id: str, try_number: int) -> dict[str, Any]:
    """Where this run writes: a staging table and location unique to the run and its try."""
    token = hashlib.sha1(f"{run_id}/{try_number}".encode(), usedforsecurity=False).hexdigest()[:12]
    values = lake.partition_values(hour)
    return {
        "hour": hour.isoformat(),
        "partition": values,
        "partition_filter": lake.partition_filter(values),
        "staging_table": f"curated_staging_{token}",
        "staging_location": f"{names.table_location(resources.CURATED)}{lake.partition_path(hour)}/run={token}/",
    }


def committed_minutes(s3: Any, names: resources.Resources, hour: datetime) -> list[datetime]:
    """The minutes of ``hour`` with at least one committed snapshot, from the commit objects."""
    keys = S3Store(names.lake_bucket, s3).list(lake.hour_prefix(resources.COMMITS, hour))
    return sorted({lake.minute_of_key(key) for key in keys})


def planned_hour(plan: dict[str, Any]) -> datetime:
    """The hour a plan (from :func:`plan`, as XCom) is about."""
    return datetime.fromisoformat(plan["hour"])


def check_hour(ti: Any, s3: Any, names: resources.Resources, hour: datetime, wait: bool) -> dict[str, Any] | None:
    """One poke of the hour_complete sensor: None while the hour is not ready (the log says
    why), else what it holds; raises EmptyHour when no minute of it was committed."""
    if wait:
        readiness = hour_readiness(ti, hour)
        log.info("hour %s: %s", hour.isoformat(), readiness.reason)
        if not readiness.ready:
            return None
    found = describe_hour(hour, committed_minutes(s3, names, hour))
    if not found["minutes_present"]:
        raise EmptyHour(f"no snapshot of {hour.isoformat()} was committed: nothing to compact")
    log.info(
        "hour %s: %d of %d planned minutes committed; missing: %s",
        hour.isoformat(),
        found["minutes_present"],
        found["minutes_planned"],
        found["missing"] or "none",
    )
    return found


def describe_hour(hour: datetime, present: list[datetime]) -> dict[str, Any]:
    """What an hour holds before compaction: minutes committed, and which of the minutes the
    credit plan fetches are missing (a planned skip is not missing)."""
    planned = pacing.planned_minutes(hour)
    missing = sorted(set(planned) - {lake.as_utc(m) for m in present})
    counts = {"minutes_present": len(present), "minutes_planned": len(planned)}
    return {
        "hour": hour.isoformat(),
        **counts,
        "completeness": round(completeness(counts), 4),
        "missing": minute_ranges(missing) if missing else "",
    }


def completeness(counts: dict[str, int]) -> float:
    """Minutes present over minutes planned (60 unless the credit plan skips some), at most 1."""
    planned = counts.get("minutes_planned", MINUTES_PER_HOUR)
    return min(1.0, counts["minutes_present"] / planned) if planned else 1.0


def check_counts(plan: dict[str, Any], row: dict[str, str | None]) -> dict[str, int]:
    """The compacted rows must equal the committed minutely rows, counted two ways: the rows
    read back, and the sum the commits recorded when they were written; and they must pass
    the curated table's data checks (:func:`data_checks`)."""
    counts = {name: int(row[name] or 0) for name in ("compacted_rows", "minutely_rows", "committed_rows")}
    compacted, minutely, committed = counts["compacted_rows"], counts["minutely_rows"], counts["committed_rows"]
    if not compacted == minutely == committed:
        raise CompactionMismatch(
            f"compacted hour holds {compacted} rows, its committed minutely files {minutely}, "
            f"and its commits recorded {committed}"
        )
    checks.verify(data_checks(plan), row, f"compacted hour {plan['hour']}")
    return {"rows": compacted, "minutes_present": int(row["committed_minutes"] or 0)}


def data_checks(plan: dict[str, Any]) -> tuple[checks.Check, ...]:
    """The checks on the hour a plan stages (``sql/check_compacted_hour.sql`` runs them)."""
    return checks.curated(planned_hour(plan))


def publish(
    glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any], counts: dict[str, int]
) -> dict[str, Any]:
    """Point the curated hour at the staging files, with its completeness in the partition's
    parameters, then delete what it pointed at before."""
    counts = {**counts, "minutes_planned": len(pacing.planned_minutes(planned_hour(plan)))}
    previous, removed = publish_staged(glue, s3, names, resources.CURATED, plan, partition_parameters(counts))
    log.info(
        "compacted %s: %d rows from %d of %d planned minutes (%.1f%% complete) -> %s; %d old objects removed",
        plan["hour"],
        counts["rows"],
        counts["minutes_present"],
        counts.get("minutes_planned", MINUTES_PER_HOUR),
        100 * completeness(counts),
        plan["staging_location"],
        removed,
    )
    return {
        "location": plan["staging_location"],
        "previous": previous or "",
        "removed_objects": removed,
        **counts,
        "completeness": round(completeness(counts), 4),
    }


def partition_parameters(counts: dict[str, int]) -> dict[str, str]:
    """What the curated partition records about its hour (Glue partition parameters)."""
    return {
        "flightdata.rows": str(counts["rows"]),
        "flightdata.minutes_present": str(counts["minutes_present"]),
        "flightdata.minutes_planned": str(counts.get("minutes_planned", MINUTES_PER_HOUR)),
        "flightdata.completeness": f"{completeness(counts):.4f}",
        "flightdata.compacted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def discard(glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any]) -> int:
    """Remove what a failed run staged, leaving the curated hour as it was."""
    return discard_staged(glue, s3, names, plan)
