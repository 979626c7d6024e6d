"""Flights on real recorded traffic: the ``quickstart`` sample of the ``traffic`` wheel (three
hours around Paris, 7 October 2021, recorded by the OpenSky Network), served minute by minute
as ``/states/all`` would have been, through the ETL and the daily flights query on the local
endpoint, and graded against a reference worked out from every one of its reports
(``opensky_sim.recorded``). The long figures are ``benchmarks/flights.py``'s."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flightdata.etl.transform import transform
from flightdata.lake import SnapshotContext
from flightdata.orchestration import pacing
from flightdata.resources import Resources
from flightdata_local import replay, segment
from flightdata_local.provision import provision
from opensky_sim import recorded
from opensky_sim.scoring import score

REGION = "eu-west-1"
YEAR = 2026  # the lake's partitions start in 2024


@pytest.fixture(scope="module")
def paris(local_aws):
    names = Resources("flightdata-recorded")
    provision(local_aws.url, names, None, REGION, local_aws.app.key)
    recording = recorded.load("quickstart", YEAR)
    start, hours = recording.first_hour, recording.hours
    assert hours == 3
    rows = replay.write_hours(local_aws.client("s3"), local_aws.client("glue"), names, recording, start, hours)
    found, _ = segment.segment_day(local_aws.client, names, start.replace(hour=0))
    return {"recording": recording, "start": start, "end": start + timedelta(hours=hours), "rows": rows, "found": found}


def test_every_state_vector_of_the_recording_reaches_the_lake(paris):
    recording, start = paris["recording"], paris["start"]
    fetched = quarantined = 0
    for hour in range(recording.hours):
        for minute in pacing.planned_minutes(start + timedelta(hours=hour)):
            result = transform(replay.body(recording, minute), SnapshotContext(minute, "global"))
            fetched += result.summary.records
            quarantined += result.summary.quarantined

    assert paris["rows"] > 4_000
    assert quarantined == 0
    assert paris["rows"] == fetched


def test_flights_and_their_airports_agree_with_the_recording(paris):
    figures = score(paris["found"], paris["recording"].flights(), paris["start"].timestamp(), paris["end"].timestamp())

    assert figures["flights_true"] > 200, figures
    assert figures["flights_precision"] >= 0.98, figures
    assert figures["flights_recall"] >= 0.98, figures
    assert figures["departures_judged"] >= 100, figures
    assert figures["arrivals_judged"] >= 60, figures
    # before runways: 0.894 and 0.984 (nearest reference point to one low contact)
    assert figures["departure_airport_accuracy"] >= 0.98, figures
    assert figures["arrival_airport_accuracy"] >= 0.98, figures


def test_no_flight_stands_still(paris):
    # a parked transponder that said "airborne" at 35,000 ft made an Orly-to-Orly flight of
    # 1.3 km at 11,895 m before
    for flight in paris["found"]:
        assert flight["distance_km"] > 1.0, flight
        high = flight["max_altitude_m"] is not None and flight["max_altitude_m"] >= 3_000
        assert not high or flight["distance_km"] > 10, flight
