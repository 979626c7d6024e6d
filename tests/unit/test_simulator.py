"""The simulator's traffic: deterministic, coherent over time, with known quirks and faults."""

from __future__ import annotations

import itertools
import math

import orjson
import requests

from opensky_sim import INVALID_KINDS, Fleet, TrafficShape

T0 = 1_767_225_600
SMALL = TrafficShape(aircraft=2_000)


def by_icao(states):
    return {s[0]: s for s in states}


def test_the_same_seed_gives_the_same_snapshot():
    assert Fleet(5, SMALL).states_at(T0) == Fleet(5, SMALL).states_at(T0)
    assert Fleet(5, SMALL).states_at(T0) != Fleet(6, SMALL).states_at(T0)


def test_consecutive_minutes_move_each_aircraft_by_its_speed():
    fleet = Fleet(5, SMALL)
    before, after = by_icao(fleet.states_at(T0)), by_icao(fleet.states_at(T0 + 60))
    invalid = {fleet.icao24[i] for i in fleet.invalid_kind}
    checked = 0
    for icao, s in before.items():
        if icao in invalid:
            continue
        a = after.get(icao)
        if a is None or not isinstance(s[6], float) or not isinstance(a[6], float) or s[8] or a[8] or abs(s[6]) > 80:
            continue  # no position, on the ground at either minute, or near a pole
        dlat = math.radians(a[6] - s[6])
        dlon = math.radians((a[5] - s[5] + 180) % 360 - 180)
        h = (
            math.sin(dlat / 2) ** 2
            + math.cos(math.radians(s[6])) * math.cos(math.radians(a[6])) * math.sin(dlon / 2) ** 2
        )
        metres = 2 * 6_371_000 * math.asin(math.sqrt(h))
        assert abs(metres - s[9] * 60) < 0.02 * s[9] * 60 + 30, icao
        checked += 1
    assert checked > 900  # of 2,000: those on the air and airborne at both minutes


def test_snapshots_show_the_quirks_of_real_ones():
    states = Fleet(5, SMALL).states_at(T0)

    assert all(len(s[1]) in (0, 8) for s in states)  # padded or empty callsigns
    assert any(s[1] == "" for s in states)
    assert all(s[12] is None for s in states)  # sensors
    assert any(isinstance(s[7], int) for s in states if s[7] is not None)  # floats sent as integers
    assert any(s[7] is not None and s[7] < 0 for s in states)  # below sea level
    assert any(s[3] is not None and s[4] - s[3] >= 15 for s in states)  # stale position
    on_ground = sum(s[8] for s in states) / len(states)
    assert 0.03 < on_ground < 0.2  # taxiing, and the few at the gate with the transponder on


def test_invalid_rows_of_every_known_kind_are_present():
    fleet = Fleet(5, TrafficShape(aircraft=3_000))

    assert set(fleet.invalid_kind.values()) == set(INVALID_KINDS)
    assert len(fleet.invalid_kind) == round(3_000 * fleet.shape.invalid_share)


def test_a_bounding_box_keeps_only_aircraft_inside_it():
    states = Fleet(5, SMALL).states_at(T0, box=(40.0, -10.0, 60.0, 20.0))

    assert states
    assert all(s[6] is None or 40 <= s[6] <= 60 or s[6] > 90 for s in states)


def test_the_http_api_serves_states_and_reports_credits(opensky_sim):
    response = requests.get(f"{opensky_sim.url}/api/states/all", params={"extended": 1}, timeout=10)
    document = orjson.loads(response.content)

    assert response.status_code == 200
    assert response.headers["X-Rate-Limit-Remaining"] == "396"
    assert len(document["states"][0]) == 18
    assert document["time"] % 10 == 0  # anonymous users get 10-second resolution


def test_faults_can_be_switched_on_over_http(opensky_sim):
    control = requests.post(f"{opensky_sim.url}/_sim/faults", json={"kind": "503", "count": 1}, timeout=10)
    assert control.status_code == 200

    assert requests.get(f"{opensky_sim.url}/api/states/all", timeout=10).status_code == 503
    assert requests.get(f"{opensky_sim.url}/api/states/all", timeout=10).status_code == 200
    bad = requests.post(f"{opensky_sim.url}/_sim/faults", json={"kind": "teapot"}, timeout=10)
    assert bad.status_code == 400


def test_aircraft_fly_between_real_airports_and_turn_around_with_the_transponder_off():
    from opensky_sim.traffic import EARTH_RADIUS_M, reference_airports

    fleet = Fleet(5, SMALL)
    airports = reference_airports()
    position = {code: (lat, lon) for code, lat, lon in zip(airports.icao, airports.lat, airports.lon, strict=True)}
    flights = [f for f in fleet.flights(T0, T0 + 6 * 3600) if f["observable"] and f["seen_from_takeoff"]]
    checked = 0
    for flight in flights[:200]:
        i = fleet.icao24.index(flight["icao24"])
        taxiing = by_icao(fleet.states_at(int(flight["off_block"]) + 30)).get(flight["icao24"])
        cruising = by_icao(fleet.states_at(int((flight["takeoff"] + flight["landing"]) / 2))).get(flight["icao24"])
        at_gate = by_icao(fleet.states_at(int(flight["on_block"]) + 60)).get(flight["icao24"])
        if taxiing is None or cruising is None:
            continue  # a coverage hole at that instant
        # taxiing out: on the ground, within a kilometre of the departure airport
        lat, lon = position[flight["departure"]]
        assert taxiing[8] is True
        assert abs(taxiing[6] - lat) < 0.02
        assert abs(((taxiing[5] - lon) + 180) % 360 - 180) < 0.02 / max(0.05, math.cos(math.radians(lat)))
        # in the air halfway, under the flight's callsign
        assert cruising[8] is False
        assert cruising[7] is not None
        if flight["callsign"]:
            assert cruising[1].strip() == flight["callsign"]
        # at the gate with the transponder off, unless this aircraft keeps it on
        if not fleet.transponder_at_gate[i]:
            assert at_gate is None
        assert 0 < flight["distance_km"] * 1000 < math.pi * EARTH_RADIUS_M
        checked += 1
    assert checked > 100


def test_the_ground_truth_has_every_quirk_segmentation_must_handle():
    fleet = Fleet(5, SMALL)
    flights = fleet.flights(T0, T0 + 12 * 3600)

    assert any(not f["seen_from_takeoff"] for f in flights)  # appeared mid-flight
    assert any(not f["seen_to_landing"] for f in flights)  # dropped out of coverage
    assert any(f["callsign"] is None for f in flights)  # never sent a callsign
    assert any(not f["observable"] for f in flights)  # no position, or only invalid rows
    # a return leg flies under another callsign (airliners), or the same one (registrations)
    legs: dict[str, list[dict]] = {}
    for f in sorted((f for f in flights if f["observable"]), key=lambda f: f["off_block"]):
        legs.setdefault(f["icao24"], []).append(f)
    pairs = [(a, b) for fs in legs.values() for a, b in itertools.pairwise(fs) if a["callsign"]]
    assert any(a["callsign"] != b["callsign"] for a, b in pairs)
    assert any(a["callsign"] == b["callsign"] for a, b in pairs)
    assert all(a["arrival"] == b["departure"] for a, b in pairs)
    # every leg is seen for a while, between its off-block and on-block times
    assert all(f["off_block"] <= f["seen_from"] < f["seen_to"] <= f["on_block"] + 1e-6 for f in flights)


def test_callsigns_can_start_after_the_taxi_has():
    fleet = Fleet(5, SMALL)
    flights = [f for f in fleet.flights(T0, T0 + 6 * 3600) if f["callsign"] and f["seen_from_takeoff"]]
    late = 0
    for flight in flights[:400]:
        first = by_icao(fleet.states_at(int(flight["off_block"]) + 5)).get(flight["icao24"])
        if first is not None and first[1] == "":
            late += 1
    assert late > 0
