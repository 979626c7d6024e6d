"""The ways real traffic fooled the flights query, each scripted minute by minute at real
airports and run through the ETL and ``sql/flights_day.sql`` on the local endpoint. Each
case failed before runways, standing contacts and climb rates from altitudes (#24)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from flightdata.orchestration import pacing
from flightdata.resources import Resources
from flightdata_local import replay, segment
from flightdata_local.provision import provision

REGION = "eu-west-1"
HOUR = datetime(2026, 5, 4, 10, tzinfo=UTC)
# Runway thresholds (OurAirports): where each direction starts, and its heading.
LFPG_27L = (49.023701, 2.570290, 265.28)
EHAM_18R = (52.362701, 4.711930, 183.17)
LFPO_24 = (48.735500, 2.360680, 241.77)
LFPO_06 = (48.720001, 2.316920, 61.77)
LFPB_25 = (48.973999, 2.458250, 247.74)
LFPO_GATE = (48.7262, 2.3655)
LFPB_APRON = (48.9660, 2.4380)


def along(runway: tuple[float, float, float], km: float, side_km: float = 0.0) -> tuple[float, float]:
    """The point ``km`` along a runway direction from its threshold (negative: before it),
    ``side_km`` to its right."""
    lat, lon, heading = runway
    h = math.radians(heading)
    north = km * math.cos(h) - side_km * math.sin(h)
    east = km * math.sin(h) + side_km * math.cos(h)
    return lat + north / 110.574, lon + east / (111.32 * math.cos(math.radians(lat)))


def air(point: tuple[float, float], altitude: float, speed: float | None, track: float, rate: float | None) -> dict:
    return {"at": point, "altitude": altitude, "ground": False, "speed": speed, "track": track, "rate": rate}


def ground(point: tuple[float, float], speed: float = 5.0, track: float = 0.0) -> dict:
    return {"at": point, "altitude": None, "ground": True, "speed": speed, "track": track, "rate": None}


CASES: dict[str, list[dict[str, Any]]] = {
    # Departing CDG westwards, first heard a minute after takeoff at 770 m, nearer Le
    # Bourget's reference point than CDG's.
    "a00001": [
        air(along(LFPG_27L, 8), 770, 90, 265, 8),
        air(along(LFPG_27L, 13), 1300, 100, 265, 9),
        air(along(LFPG_27L, 19), 1900, 110, 265, 9),
        air(along(LFPG_27L, 26), 2600, 120, 265, 9),
    ],
    # Landing on Schiphol's Polderbaan (18R), whose threshold is 7 km from the reference point.
    "a00002": [
        air(along(EHAM_18R, -12), 650, 75, 183, -3.5),
        air(along(EHAM_18R, -6), 320, 72, 183, -3.5),
        ground(along(EHAM_18R, 0.9), 40, 183),
        ground(along(EHAM_18R, 1.3), 12, 183),
        ground(along(EHAM_18R, 1.4, 0.3), 8, 90),
    ],
    # Parked at an Orly gate, its transponder says "airborne" at 39,000 ft with no speed for
    # three minutes; then it taxis and takes off from 24.
    "a00003": [
        ground(LFPO_GATE, 0),
        ground(LFPO_GATE, 0),
        air(LFPO_GATE, 11_887, None, 0, None),
        air(LFPO_GATE, 11_887, None, 0, None),
        air(LFPO_GATE, 11_887, None, 0, None),
        ground(along(LFPO_24, 0.3, -0.4), 8, 240),
        ground(along(LFPO_24, 0.0, -0.1), 8, 240),
        air(along(LFPO_24, 4.5), 350, 80, 242, 9),
        air(along(LFPO_24, 10), 1100, 95, 242, 10),
        air(along(LFPO_24, 16), 1900, 110, 242, 10),
    ],
    # Arriving level at 800 m with +0.33 m/s of vertical-rate noise, then down onto Orly's 06.
    "a00004": [
        air(along(LFPO_06, -9), 800, 80, 62, 0.33),
        air(along(LFPO_06, -6), 800, 78, 62, 0.33),
        air(along(LFPO_06, -3), 400, 72, 62, -3.5),
        ground(along(LFPO_06, 0.8), 35, 62),
        ground(along(LFPO_06, 1.5, 0.2), 10, 150),
    ],
    # Departing Orly's 24 with a transponder that sends neither speed nor vertical rate.
    "a00005": [
        air(along(LFPO_24, 5.6), 400, None, 242, None),
        air(along(LFPO_24, 10.6), 1000, None, 242, None),
        air(along(LFPO_24, 16), 1700, None, 242, None),
        air(along(LFPO_24, 22), 2400, None, 242, None),
    ],
    # First heard on final to Le Bourget's 25, a quick turnaround, and off again under the
    # same callsign.
    "a00006": [
        air(along(LFPB_25, -8), 500, 70, 248, -4),
        air(along(LFPB_25, -3), 220, 68, 248, -4),
        ground(along(LFPB_25, 1.0), 30, 248),
        ground(LFPB_APRON, 0),
        ground(LFPB_APRON, 0),
        ground(LFPB_APRON, 0),
        ground(along(LFPB_25, 0.1, 0.1), 8, 248),
        air(along(LFPB_25, 4), 300, 80, 248, 8),
        air(along(LFPB_25, 9), 900, 95, 248, 9),
        air(along(LFPB_25, 15), 1600, 105, 248, 9),
    ],
}


class Scripted:
    """Each case's contacts at the hour's planned minutes, one after another."""

    def __init__(self, hour: datetime) -> None:
        self.minutes = [int(m.timestamp()) for m in pacing.planned_minutes(hour)]

    def states_at(self, at: int) -> list[list[Any]]:
        k = self.minutes.index(at)
        states = []
        for icao24, contacts in CASES.items():
            if k < len(contacts):
                c = contacts[k]
                lat, lon = c["at"]
                states.append(
                    [
                        icao24,
                        f"TST{icao24[-3:]}".ljust(8),
                        "France",
                        at,
                        at,
                        round(lon, 6),
                        round(lat, 6),
                        c["altitude"],
                        c["ground"],
                        c["speed"],
                        c["track"],
                        c["rate"],
                        None,
                        c["altitude"],
                        "1000",
                        False,
                        0,
                    ]
                )
        return states


@pytest.fixture(scope="module")
def flights(local_aws):
    names = Resources("flightdata-cases")
    provision(local_aws.url, names, None, REGION, local_aws.app.key)
    replay.write_hours(local_aws.client("s3"), local_aws.client("glue"), names, Scripted(HOUR), HOUR, 1)
    found, _ = segment.segment_day(local_aws.client, names, HOUR.replace(hour=0))
    by_aircraft: dict[str, list[dict[str, Any]]] = {}
    for flight in found:
        by_aircraft.setdefault(flight["icao24"], []).append(flight)
    return by_aircraft


def test_a_departure_is_matched_to_the_runway_it_climbs_out_of_not_the_nearest_reference_point(flights):
    (flight,) = flights["a00001"]
    assert flight["departure_airport"] == "LFPG"  # was LFPB, 5.7 km from the first contact
    assert flight["seen_from_takeoff"]


def test_a_landing_on_a_runway_far_from_the_reference_point_has_its_airport(flights):
    (flight,) = flights["a00002"]
    assert flight["arrival_airport"] == "EHAM"  # was none: 6 km from the reference point
    assert flight["arrival_distance_km"] < 0.5  # from the runway
    assert flight["seen_to_landing"]


def test_a_parked_transponder_saying_airborne_is_no_flight_and_splits_nothing(flights):
    (flight,) = flights["a00003"]  # was two: Orly to Orly at 11,887 m, then the departure
    assert flight["departure_airport"] == "LFPO"
    assert flight["max_altitude_m"] < 2_000


def test_level_flight_with_vertical_rate_noise_is_not_a_climb_out(flights):
    (flight,) = flights["a00004"]
    assert not flight["seen_from_takeoff"]  # was true, with a departure airport invented
    assert flight["departure_airport"] is None
    assert flight["arrival_airport"] == "LFPO"


def test_a_departure_without_speed_or_vertical_rate_still_has_its_airport(flights):
    (flight,) = flights["a00005"]
    assert flight["departure_airport"] == "LFPO"  # was none


def test_a_quick_turnaround_of_an_aircraft_first_seen_airborne_is_two_flights(flights):
    arrival, departure = sorted(flights["a00006"], key=lambda f: f["takeoff_seen"])  # was one
    assert (arrival["departure_airport"], arrival["arrival_airport"]) == (None, "LFPB")
    assert departure["departure_airport"] == "LFPB"
    assert departure["callsign"] == arrival["callsign"]


def test_the_data_checks_refuse_a_staged_day_with_broken_flights(local_aws, flights):
    """The checks the daily DAG runs before publishing (``check_flights_day.sql``), on a
    staged day made from the published one with four defects: an airport that is not in
    the airports table, a flight twice, a null icao24 and a takeoff on another day."""
    from flightdata import checks
    from flightdata.orchestration import flights as segmenting
    from flightdata_local import query

    names = Resources("flightdata-cases")
    day = HOUR.replace(hour=0)
    good = segmenting.plan(names, day, "checks-good", 1)
    good_table = f"{names.glue_database}.{good['staging_table']}"
    query.run(local_aws.client("athena"), names, segment.render(names, good))
    assert set(segment.check(local_aws.client, names, good).values()) == {0}

    bad = segmenting.plan(names, day, "checks-bad", 1)
    columns = "icao24, callsign, origin_country, first_seen, last_seen, takeoff_seen, departure_airport"
    rest = "arrival_airport, departure_distance_km, arrival_distance_km, distance_km, max_altitude_m, positions"
    rest += ", seen_from_takeoff, seen_to_landing"
    query.run(
        local_aws.client("athena"),
        names,
        f"CREATE TABLE {names.glue_database}.{bad['staging_table']}"
        f" WITH (format = 'PARQUET', external_location = '{bad['staging_location']}') AS"
        f" SELECT {columns}, {rest} FROM {good_table} WHERE icao24 <> 'a00001'"
        f" UNION ALL SELECT icao24, callsign, origin_country, first_seen, last_seen, takeoff_seen, 'ZZZZ', {rest}"
        f" FROM {good_table} WHERE icao24 = 'a00001'"
        f" UNION ALL SELECT {columns}, {rest} FROM {good_table} WHERE icao24 = 'a00002'"
        f" UNION ALL SELECT NULL, callsign, origin_country, first_seen, last_seen, takeoff_seen, departure_airport,"
        f" {rest} FROM {good_table} WHERE icao24 = 'a00004'"
        f" UNION ALL SELECT 'b00001', callsign, origin_country, first_seen - 86400, last_seen, takeoff_seen - 86400,"
        f" departure_airport, {rest} FROM {good_table} WHERE icao24 = 'a00005'",
    )
    with pytest.raises(checks.DataCheckFailed) as failed:
        segment.check(local_aws.client, names, bad)
    assert str(failed.value) == (
        f"flights of {day:%Y-%m-%d}: 4 of 11 data checks failed: 1 row breaks 'icao24 is never null'; "
        "1 key breaks '(icao24, takeoff_seen) is unique'; 1 row breaks 'takeoff_seen is in the day'; "
        "1 row breaks 'departure_airport is an airports.icao'"
    )


def test_the_data_checks_refuse_a_compacted_hour_with_broken_rows(local_aws, flights):
    """The curated checks that ``check_compacted_hour.sql`` adds to the row counts, on the
    scripted hour as written and on a copy with a row twice, a null icao24 and a minute
    from the next hour."""
    from flightdata import checks, lake
    from flightdata_local import query

    names = Resources("flightdata-cases")
    athena = local_aws.client("athena")
    curated = f"{names.glue_database}.{names.tables['curated']}"

    def run(table: str) -> dict[str, int]:
        execution = query.run(athena, names, checks.select(checks.curated(HOUR), table))
        return checks.verify(checks.curated(HOUR), query.rows(athena, execution["QueryExecutionId"])[0], "the hour")

    assert set(run(curated).values()) == {0}
    staged = f"{names.glue_database}.curated_checks_bad"
    hour = lake.partition_filter(lake.partition_values(HOUR))
    columns = ", ".join(c for c in ("icao24", "snapshot_time", "last_contact", "region", "ingested_at"))
    query.run(
        athena,
        names,
        f"CREATE TABLE {staged} WITH (format = 'PARQUET', external_location = "
        f"'s3://{names.lake_bucket}/checks/curated_bad/') AS"
        f" SELECT {columns} FROM {curated} WHERE {hour} AND icao24 NOT IN ('a00001', 'a00002')"
        f" UNION ALL SELECT {columns} FROM {curated} WHERE {hour} AND icao24 = 'a00001'"
        f" UNION ALL SELECT icao24, snapshot_time, last_contact, region, ingested_at FROM {curated}"
        f" WHERE {hour} AND icao24 = 'a00001' AND snapshot_time = TIMESTAMP '{HOUR:%Y-%m-%d %H}:00:00'"
        f" UNION ALL SELECT NULL, snapshot_time + INTERVAL '1' HOUR, last_contact, region, ingested_at FROM {curated}"
        f" WHERE {hour} AND icao24 = 'a00002' AND snapshot_time = TIMESTAMP '{HOUR:%Y-%m-%d %H}:00:00'",
    )
    with pytest.raises(checks.DataCheckFailed) as failed:
        run(staged)
    assert str(failed.value) == (
        "the hour: 3 of 7 data checks failed: 1 row breaks 'icao24 is never null'; "
        "1 key breaks '(region, snapshot_time, icao24) is unique'; 1 row breaks 'snapshot_time is in the hour'"
    )
