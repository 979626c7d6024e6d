"""Flight segmentation over simulated hours, scored against the simulator's ground truth.

The fleet's state vectors for the hour before a day and ``FLIGHTS_BENCH_HOURS`` (default 6)
hours of it go through the ETL into the local endpoint's curated table
(``flightdata_local.replay``); the daily flights query (``sql/flights_day.sql``) segments the day; the
flights it finds are matched with the flights the fleet flew (``opensky_sim.scoring``).

Then the same on real traffic: the ``quickstart`` sample of the ``traffic`` wheel (three hours
around Paris, recorded by the OpenSky Network; ``opensky_sim.recorded``), its figures
prefixed ``recorded_`` and graded against the reference worked out from every report.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata.resources import Resources
from flightdata_local import replay, segment
from flightdata_local.provision import provision
from localaws.server import running
from opensky_sim import Fleet, TrafficShape, recorded
from opensky_sim.scoring import score

HOURS = int(os.environ.get("FLIGHTS_BENCH_HOURS", "6"))
AIRCRAFT = int(os.environ.get("FLIGHTS_BENCH_AIRCRAFT", "12000"))
DAY = datetime(2026, 1, 1, tzinfo=UTC)
REGION = "eu-west-1"


def recorded_figures(endpoint: Any) -> dict[str, float | int]:
    names = Resources("flightdata-bench-recorded")
    provision(endpoint.url, names, None, REGION, endpoint.app.key)
    recording = recorded.load("quickstart", year=DAY.year)  # the lake's partitions start in 2024
    start, hours = recording.first_hour, recording.hours
    rows = replay.write_hours(endpoint.client("s3"), endpoint.client("glue"), names, recording, start, hours)
    found, cost = segment.segment_day(endpoint.client, names, start.replace(hour=0))
    figures = score(found, recording.flights(), start.timestamp(), (start + timedelta(hours=hours)).timestamp())
    return {"recorded_state_vectors": rows} | {f"recorded_{k}": v for k, v in (figures | cost).items()}


def main() -> None:
    names = Resources("flightdata-bench")
    fleet = Fleet(seed=7, shape=TrafficShape(aircraft=AIRCRAFT))
    with running(region=REGION) as endpoint:
        provision(endpoint.url, names, None, REGION, endpoint.app.key)
        started = time.perf_counter()
        rows = replay.write_hours(
            endpoint.client("s3"), endpoint.client("glue"), names, fleet, DAY - timedelta(hours=1), HOURS + 1
        )
        replay_seconds = time.perf_counter() - started
        found, cost = segment.segment_day(endpoint.client, names, DAY)
        real = recorded_figures(endpoint)
    end = DAY + timedelta(hours=HOURS)
    truth = fleet.flights(int(DAY.timestamp()), int(end.timestamp()))
    figures = {
        "flights_simulated_hours": HOURS,
        "flights_aircraft": AIRCRAFT,
        "flights_state_vectors": rows,
        "flights_replay_seconds": round(replay_seconds, 1),
        **score(found, truth, DAY.timestamp(), end.timestamp()),
        **cost,
        **real,
    }
    for name, value in figures.items():
        print(f"{name} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
