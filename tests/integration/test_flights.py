"""Flight segmentation on the local endpoint, over simulated hours that cross midnight,
scored against the simulator's ground truth: the short version of ``benchmarks/flights.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flightdata import resources
from flightdata.resources import Resources
from flightdata_local import query, replay, segment
from flightdata_local.provision import provision
from opensky_sim import Fleet, TrafficShape
from opensky_sim.scoring import score

REGION = "eu-west-1"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
FIRST_HOUR = DAY - timedelta(hours=3)  # 21:00 the day before
HOURS = 6  # to 03:00


@pytest.fixture(scope="module")
def lake(local_aws):
    """Six simulated hours around midnight in the curated table, both days segmented."""
    names = Resources("flightdata-flights")
    provision(local_aws.url, names, None, REGION, local_aws.app.key)
    fleet = Fleet(11, TrafficShape(aircraft=1_500))
    replay.write_hours(local_aws.client("s3"), local_aws.client("glue"), names, fleet, FIRST_HOUR, HOURS)
    before, _ = segment.segment_day(local_aws.client, names, DAY - timedelta(days=1))
    on_day, cost = segment.segment_day(local_aws.client, names, DAY)
    return {"names": names, "fleet": fleet, "before": before, "day": on_day, "cost": cost}


def test_segmented_flights_match_the_flights_the_fleet_flew(lake):
    start, end = FIRST_HOUR + timedelta(hours=1), FIRST_HOUR + timedelta(hours=HOURS)
    truth = lake["fleet"].flights(int(start.timestamp()), int(end.timestamp()))

    figures = score(lake["before"] + lake["day"], truth, start.timestamp(), end.timestamp())

    assert figures["flights_true"] > 300
    assert figures["flights_precision"] >= 0.98, figures
    assert figures["flights_recall"] >= 0.98, figures
    assert figures["departure_airport_accuracy"] >= 0.95, figures
    assert figures["arrival_airport_accuracy"] >= 0.95, figures
    assert lake["cost"]["flights_bytes_scanned"] > 0


def test_a_flight_across_midnight_belongs_to_the_day_it_took_off_and_is_counted_once(lake):
    midnight = DAY.timestamp()
    before, on_day = lake["before"], lake["day"]

    assert all(f["takeoff_seen"] < midnight for f in before)
    assert all(f["takeoff_seen"] >= midnight for f in on_day)
    across = [f for f in before if f["last_seen"] > midnight]
    assert across, "some flights of the day before land after midnight"
    # the day after sees those aircraft only after they land: no piece of them is a flight again
    keys = {(f["icao24"], f["takeoff_seen"]) for f in before}
    assert not keys & {(f["icao24"], f["takeoff_seen"]) for f in on_day}
    for flight in across:
        later = [f for f in on_day if f["icao24"] == flight["icao24"]]
        assert all(f["first_seen"] > flight["last_seen"] for f in later)


def test_flights_say_where_they_were_seen_from_and_to(lake):
    flights = lake["day"]
    whole = [f for f in flights if f["seen_from_takeoff"] and f["seen_to_landing"]]
    airborne_start = [f for f in flights if not f["seen_from_takeoff"]]

    data_end = (FIRST_HOUR + timedelta(hours=HOURS)).timestamp()
    ended = [f for f in flights if f["last_seen"] < data_end - 1800]  # not cut by the end of the data
    assert sum(f["seen_from_takeoff"] and f["seen_to_landing"] for f in ended) > 0.8 * len(ended)
    # a light aircraft cruising low and slow can look like one on approach, far from any airport
    with_airports = [f for f in whole if f["departure_airport"] and f["arrival_airport"]]
    assert len(with_airports) >= 0.95 * len(whole)
    assert all(f["departure_distance_km"] <= 12 for f in with_airports)
    assert airborne_start
    assert all(f["departure_airport"] is None for f in airborne_start)
    assert all(f["distance_km"] >= 0 and f["positions"] >= 1 for f in flights)
    assert all(f["first_seen"] <= f["takeoff_seen"] <= f["last_seen"] for f in flights)


def test_segmenting_a_day_again_leaves_one_copy_of_each_flight(local_aws, lake):
    names = lake["names"]
    glue, s3 = local_aws.client("glue"), local_aws.client("s3")
    values = ["2026", "03", "02"]
    first = glue.get_partition(DatabaseName=names.glue_database, TableName="flights", PartitionValues=values)

    again, _ = segment.segment_day(local_aws.client, names, DAY)

    second = glue.get_partition(DatabaseName=names.glue_database, TableName="flights", PartitionValues=values)
    old = first["Partition"]["StorageDescriptor"]["Location"]
    assert second["Partition"]["StorageDescriptor"]["Location"] != old
    bucket, _, prefix = old.removeprefix("s3://").partition("/")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0) == 0
    assert sorted((f["icao24"], f["first_seen"]) for f in again) == sorted(
        (f["icao24"], f["first_seen"]) for f in lake["day"]
    )
    count = query.select(
        local_aws.client("athena"),
        names,
        f"SELECT count(*) AS n FROM {names.glue_database}.{names.tables[resources.FLIGHTS]} "
        "WHERE year = '2026' AND month = '03' AND day = '02'",
    )
    assert int(count[0]["n"]) == len(lake["day"])
