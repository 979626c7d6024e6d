"""A minute that commits after its hour may have been compacted without it: when it is late,
and the compaction run it asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flightdata import lake
from flightdata.orchestration.minutely import RUN_TIMEOUT


def is_late(snapshot_time: datetime, now: datetime | None = None) -> bool:
    """Whether a minute committed so late that its hour's compaction may have read the hour
    without it (a retry, a manual rerun, a cleared task): then the hour is compacted again."""
    hour_end = lake.as_utc(snapshot_time).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (now or datetime.now(UTC)) >= hour_end + RUN_TIMEOUT


RECOMPACTION_WINDOW = timedelta(minutes=10)


def recompaction(snapshot_time: datetime, now: datetime | None = None) -> dict[str, str] | None:
    """The opensky_compaction run a late minute asks for (its run id and the hour), or None
    when the minute is on time.

    Late minutes of one hour within the same 10 minutes share one run (a backfill of an hour
    asks once, not 60 times): the run waits for every queued or running minute of the hour,
    so it includes them. A minute that commits after that run has read the hour, within
    the same 10 minutes, waits for the next late minute or shows up unreconciled in the
    daily report."""
    now = now or datetime.now(UTC)
    if not is_late(snapshot_time, now):
        return None
    window = int(now.timestamp() // RECOMPACTION_WINDOW.total_seconds())
    hour = f"{lake.as_utc(snapshot_time):%Y-%m-%dT%H}"
    return {"run_id": f"recompact__{hour}__{window}", "hour": hour}
