"""The simulator's traffic: deterministic, coherent over time, with known quirks and faults."""

from __future__ import annotations

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
        if a is None or not isinstance(s[6], float) or not isinstance(a[6], float) or s[8] or abs(s[6]) > 80:
            continue  # no position, integer-rounded, on the ground, or near a pole
        dlat = math.radians(a[6] - s[6])
        dlon = math.radians((a[5] - s[5] + 180) % 360 - 180)
        h = (
            math.sin(dlat / 2) ** 2
            + math.cos(math.radians(s[6])) * math.cos(math.radians(a[6])) * math.sin(dlon / 2) ** 2
        )
        metres = 2 * 6_371_000 * math.asin(math.sqrt(h))
        assert abs(metres - s[9] * 60) < 0.02 * s[9] * 60 + 30, icao
        checked += 1
    assert checked > 1_500


def test_snapshots_show_the_quirks_of_real_ones():
    states = Fleet(5, SMALL).states_at(T0)

    assert all(len(s[1]) in (0, 8) for s in states)  # padded or empty callsigns
    assert any(s[1] == "" for s in states)
    assert all(s[12] is None for s in states)  # sensors
    assert any(isinstance(s[7], int) for s in states if s[7] is not None)  # floats sent as integers
    assert any(s[7] is not None and s[7] < 0 for s in states)  # below sea level
    assert any(s[3] is not None and s[4] - s[3] >= 15 for s in states)  # stale position
    on_ground = sum(s[8] for s in states) / len(states)
    assert 0.03 < on_ground < 0.12


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
