"""Flight segmentation: one UTC day of curated state vectors into the ``flights`` table.

The daily DAG runs ``sql/flights_day.sql`` as a CTAS into a location unique to the run, then
points the day's partition at it and deletes what it pointed at before, as compaction does
for an hour (``partitions``): a rerun leaves exactly one copy of each flight.

It is a daily step, not an hourly one, because flights span hours: an hourly segmentation
would cut most flights and need a second pass to join the pieces. The day is the report's
unit, and one query over a day of hourly-compacted Parquet is cheap (it reads six columns).

The thresholds, and why:

- **A gap of 20 minutes** in contact starts a new flight. The credit plan fetches about two
  minutes in three (its longest planned gap is 2 minutes), a minute can fail, and coverage
  over sparse receivers has holes of up to ~10 minutes in cruise. A turnaround at the gate,
  transponder off, takes 30 minutes or more.
- **A takeoff starts a flight**, and so does the first contact when it is airborne: an
  aircraft first heard on its approach that lands and leaves again under the same callsign
  within the gap is two flights.
- **A flight belongs to the day of its first airborne contact** (``takeoff_seen``). Positions
  from the hour before the day (longer than the gap, plus a taxi out) show whether a flight
  that is airborne at midnight started the day before; it is then left to that day. Positions
  up to 6 hours after the day let a flight that crosses midnight end where it landed. The
  report for a day runs at 06:30 UTC the day after, when those hours are compacted; a flight
  still in the air then is cut at the window's end and marked ``seen_to_landing = false``.
- **Contacts that stand still are not flying.** A contact that says "airborne" but whose
  position moves slower than ``STANDING_MS`` (the slower of the legs to the next and from the
  previous contact, by position time, within ``PACE_S``; the reported speed when positions
  do not tell) is a ground contact for segmentation, without its altitude: real transponders
  parked at a gate send "airborne" with 39,000 ft or -70 m. Validation keeps these rows (a
  balloon or a hovering helicopter is as slow); only segmentation reads them differently.
- **Climbing and descending come from the altitudes**: the rate from one airborne contact
  to the next (to the previous, for descending), above ``CLIMB_MS`` (about 300 ft/min; a
  level flight's altitude noise between minutely contacts is a tenth of that). The reported
  vertical rate stands in only when there is no neighbouring contact, and the reported speed
  is checked against ``SLOW_MS`` only when positions do not give one.
- **Airports come from runways** (the ``runways`` reference table, OurAirports). The
  evidence is as before: the ground contact closest before the first airborne one (after
  the last, for the arrival); else the lowest contact within ``END_WINDOW`` of it that is
  slow, climbing (descending) and below ``EVIDENCE_ALTITUDE_M``. It belongs to the airport
  of the runway direction it fits best (nearest its centreline):

  - on the ground, within ``GROUND_KM`` of the runway (taxiways and aprons);
  - airborne, at most ``LOW_ALTITUDE_M`` above the threshold, on a track within
    ``MAX_TURN_DEG`` of the runway's heading, inside a funnel ``FUNNEL_KM`` either side of
    the centreline that widens by ``FUNNEL_SLOPE`` km a km beyond the runway's end. A
    departure must be past where the steepest climb (``STEEPEST_GRADIENT``, 1 in 4) from
    the threshold could have brought it, and before where the shallowest one
    (``SHALLOWEST_GRADIENT``, 1 in 20) from the far end would have: a first contact at
    770 m a minute after takeoff is 3 to 19 km down the runway's line, not beside a
    smaller airfield it happens to be nearer. An arrival must be short of the far end and
    no further out than the shallowest descent allows (a 3 degree glide path is 0.052).

  Only when no runway fits (a turn soon after takeoff, an airfield without runway data) does
  the nearest reference point count: within ``GROUND_RADIUS_KM`` on the ground,
  ``LOW_RADIUS_KM`` when low. A flight ``seen_from_takeoff``
  had a ground contact before its first airborne one, or a departure airport found this way.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata import checks, lake, resources
from flightdata.orchestration.partitions import discard_staged, publish_staged

log = logging.getLogger(__name__)

GAP = timedelta(minutes=20)
LOOKBACK = timedelta(hours=1)
LOOKAHEAD = timedelta(hours=6)
END_WINDOW = timedelta(minutes=15)
PACE_S = 300
STANDING_MS = 5  # 10 knots: slower than anything that flies, faster than a parked position's jitter
CLIMB_MS = 1.5
SLOW_MS = 130
EVIDENCE_ALTITUDE_M = 5_000
LOW_ALTITUDE_M = 1_000
GROUND_KM = 2.5
MAX_TURN_DEG = 60
FUNNEL_KM = 1.0
FUNNEL_SLOPE = 0.35
STEEPEST_GRADIENT = 0.25
SHALLOWEST_GRADIENT = 0.05
GROUND_RADIUS_KM = 5.0
LOW_RADIUS_KM = 12.0
# Runways and airports are joined through a grid of this many degrees (about 44 km
# north-south); each point meets those of its cell and the eight around it, so every
# runway threshold within the furthest fit (a 4 km runway and 20 km of climb or descent) is
# found up to about 45 degrees of latitude, and nearly all beyond.
CELL_DEG = 0.4


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
        "pace_s": PACE_S,
        "standing_ms": STANDING_MS,
        "climb_ms": CLIMB_MS,
        "slow_ms": SLOW_MS,
        "evidence_altitude_m": EVIDENCE_ALTITUDE_M,
        "low_altitude_m": LOW_ALTITUDE_M,
        "ground_km": GROUND_KM,
        "max_turn_deg": MAX_TURN_DEG,
        "funnel_km": FUNNEL_KM,
        "funnel_slope": FUNNEL_SLOPE,
        "steepest_gradient": STEEPEST_GRADIENT,
        "shallowest_gradient": SHALLOWEST_GRADIENT,
        "ground_radius_km": GROUND_RADIUS_KM,
        "low_radius_km": LOW_RADIUS_KM,
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


def data_checks(names: resources.Resources, plan: dict[str, Any]) -> tuple[checks.Check, ...]:
    """The checks on the day a plan stages (``sql/check_flights_day.sql`` runs them)."""
    return checks.flights(names, plan["day_start"], plan["day_end"])


def verify(names: resources.Resources, plan: dict[str, Any], row: dict[str, str | None]) -> dict[str, int]:
    """The staged day's check results (raises ``checks.DataCheckFailed``)."""
    return checks.verify(data_checks(names, plan), row, f"flights of {plan['day']}")


def publish(glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any]) -> dict[str, Any]:
    """Point the day's partition at this run's flights, then delete the previous run's."""
    parameters = {"flightdata.segmented_at": datetime.now(UTC).isoformat(timespec="seconds")}
    previous, removed = publish_staged(glue, s3, names, resources.FLIGHTS, plan, parameters)
    log.info("flights of %s -> %s; %d old objects removed", plan["day"], plan["staging_location"], removed)
    return {"day": plan["day"], "location": plan["staging_location"], "previous": previous or "", "removed": removed}


def discard(glue: Any, s3: Any, names: resources.Resources, plan: dict[str, Any]) -> int:
    """Remove what a failed run staged; the published day stays as it was."""
    return discard_staged(glue, s3, names, plan)
