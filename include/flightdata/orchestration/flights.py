"""Flight segmentation: one UTC day of curated state vectors into the ``flights`` table.

The daily DAG runs ``sql/flights_day.sql`` as a CTAS into a location unique to the run, then
points the day's partition at it and deletes what it pointed at before, as compaction does
for an hour: a rerun leaves exactly one copy of each flight.

It is a daily step, not an hourly one, because flights span hours: an hourly segmentation
would cut most flights and need a second pass to join the pieces. The day is the report's
unit, and one query over a day of hourly-compacted Parquet is cheap (it reads six columns).

The thresholds, and why:

- **A gap of 20 minutes** in contact starts a new flight. The credit plan fetches about two
  minutes in three (its longest planned gap is 2 minutes), a minute can fail, and coverage
  over sparse receivers has holes of up to ~10 minutes in cruise. A turnaround at the gate,
  transponder off, takes 30 minutes or more.
- **A flight belongs to the day of its first airborne contact** (``takeoff_seen``). Positions
  from the hour before the day (longer than the gap, plus a taxi out) show whether a flight
  that is airborne at midnight started the day before; it is then left to that day. Positions
  up to 6 hours after the day let a flight that crosses midnight end where it landed. The
  report for a day runs at 06:30 UTC the day after, when those hours are compacted; a flight
  still in the air then is cut at the window's end and marked ``seen_to_landing = false``.
- **Airports**: the nearest reference airport to the flight's first ground contact before
  its first airborne one (for the arrival: its last ground contact after its last airborne
  one), within 5 km: a large airport's runways end up to ~4 km from its reference point.
  Without a ground contact, the lowest contact below 1,000 m (about 3,300 ft), slower than
  130 m/s (about 250 kt, the usual speed limit below 10,000 ft), and climbing within 15
  minutes of the first airborne contact (descending within 15 minutes of the last) counts,
  within 12 km: on a 3° approach 1,000 m is ~19 km out, but with a snapshot a minute most
  aircraft are caught well below that. An aircraft that enters coverage on its final
  approach is descending, so it is not given its arrival airport as its departure.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata import lake, resources
from flightdata.orchestration.compaction import discard_staged, publish_staged

log = logging.getLogger(__name__)

GAP = timedelta(minutes=20)
LOOKBACK = timedelta(hours=1)
LOOKAHEAD = timedelta(hours=6)
END_WINDOW = timedelta(minutes=15)
GROUND_RADIUS_KM = 5.0
LOW_RADIUS_KM = 12.0
LOW_ALTITUDE_M = 1_000
SLOW_MS = 130
# Airports are joined through a grid of this many degrees (about 22 km north-south); each
# point meets the airports of its cell and the eight around it, so every airport within the
# largest radius is found up to about 55° of latitude, and most beyond.
CELL_DEG = 0.2


def plan(names: resources.Resources, day: datetime, run_id: str, try_number: int) -> dict[str, Any]:
    """What the flights query of ``day`` (midnight UTC) reads and where this run writes it."""
    token = hashlib.sha1(f"{run_id}/{try_number}/flights".encode(), usedforsecurity=False).hexdigest()[:12]
    start, end = day - LOOKBACK, day + timedelta(days=1) + LOOKAHEAD
    values = lake.day_partition_values(day)
    path = "/".join(f"{key}={value}" for key, value in values.items())
    return {
        "day": f"{day:%Y-%m-%d}",
        "partition": values,
        "staging_table": f"flights_staging_{token}",
        "staging_location": f"{names.table_location(resources.FLIGHTS)}{path}/run={token}/",
        "window_filter": window_filter(start, end),
        "window_start": int(start.timestamp()),
        "window_end": int(end.timestamp()),
        "day_start": int(day.timestamp()),
        "day_end": int((day + timedelta(days=1)).timestamp()),
        "gap_s": int(GAP.total_seconds()),
        "end_window_s": int(END_WINDOW.total_seconds()),
        "ground_radius_km": GROUND_RADIUS_KM,
        "low_radius_km": LOW_RADIUS_KM,
        "low_altitude_m": LOW_ALTITUDE_M,
        "slow_ms": SLOW_MS,
        "cell_deg": CELL_DEG,
    }


def window_filter(start: datetime, end: datetime) -> str:
    """A partition condition for the hours in [start, end): one clause per day, so Athena
    prunes to those hours."""
    clauses = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        clause = lake.day_filter(day)
        first, last = max(start, day), min(end, day + timedelta(days=1))
        if first > day:
            clause += f" AND hour >= '{first:%H}'"
        if last < day + timedelta(days=1):
            clause += f" AND hour < '{last:%H}'"
        clauses.append(f"({clause})")
        day += timedelta(days=1)
    return " OR ".join(clauses)


def publish(glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any]) -> dict[str, Any]:
    """Point the day's partition at this run's flights, then delete the previous run's."""
    parameters = {"flightdata.segmented_at": datetime.now(UTC).isoformat(timespec="seconds")}
    previous, removed = publish_staged(glue, s3, names, resources.FLIGHTS, plan, parameters)
    log.info("flights of %s -> %s; %d old objects removed", plan["day"], plan["staging_location"], removed)
    return {"day": plan["day"], "location": plan["staging_location"], "previous": previous or "", "removed": removed}


def discard(glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any]) -> int:
    """Remove what a failed run staged; the published day stays as it was."""
    return discard_staged(glue, s3, names, plan)
