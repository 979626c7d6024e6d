"""The snapshot ETL told as small stories with inline state vectors."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson
import pyarrow.parquet as pq
import pytest

from flightdata.etl.arrow import PROCESSED_SCHEMA, QUARANTINE_SCHEMA
from flightdata.etl.parse import MalformedSnapshotError, parse_snapshot
from flightdata.etl.transform import to_parquet, transform
from flightdata.lake import SnapshotContext

API_TIME = 1_767_225_600
CONTEXT = SnapshotContext(datetime(2026, 1, 1, tzinfo=UTC), region="global")


def state(**overrides):
    """A valid 17-column state vector; keyword arguments replace fields by name."""
    fields = {
        "icao24": "a1b2c3",
        "callsign": "TST101  ",
        "origin_country": "United States",
        "time_position": API_TIME - 2,
        "last_contact": API_TIME - 1,
        "longitude": -73.7781,
        "latitude": 40.6413,
        "baro_altitude": 10972.8,
        "on_ground": False,
        "velocity": 231.47,
        "true_track": 87.12,
        "vertical_rate": -0.33,
        "sensors": None,
        "geo_altitude": 11049.0,
        "squawk": "1200",
        "spi": False,
        "position_source": 0,
    }
    fields.update(overrides)
    return list(fields.values())


def snapshot(*states, api_time=API_TIME) -> bytes:
    return orjson.dumps({"time": api_time, "states": list(states) if states else None})


def run(*states):
    return transform(snapshot(*states), CONTEXT)


def reasons_of(result) -> list[list[str]]:
    return result.quarantine.column("reasons").to_pylist()


def test_a_clean_state_vector_is_processed_with_derived_and_metadata_columns():
    result = run(state())

    row = result.processed.to_pylist()[0]
    assert result.processed.schema == PROCESSED_SCHEMA
    assert row["callsign"] == "TST101"
    assert row["baro_altitude_ft"] == pytest.approx(10972.8 * 3.28084, rel=1e-6)
    assert row["snapshot_time"] == datetime(2026, 1, 1)
    assert row["api_time"] == datetime(2026, 1, 1)
    assert row["region"] == "global"
    assert result.quarantine.num_rows == 0


def test_empty_callsigns_become_null_and_integer_floats_become_floats():
    result = run(state(callsign="", baro_altitude=10972, velocity=0))

    row = result.processed.to_pylist()[0]
    assert row["callsign"] is None
    assert row["baro_altitude"] == 10972.0
    assert isinstance(row["velocity"], float)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"icao24": "ABC123"}, "bad_icao24"),
        ({"icao24": "zz1234"}, "bad_icao24"),
        ({"icao24": None}, "bad_icao24"),
        ({"latitude": 90.5}, "bad_latitude"),
        ({"longitude": -180.5}, "bad_longitude"),
        ({"latitude": None}, "partial_position"),
        ({"baro_altitude": 31_000.0}, "bad_altitude"),
        ({"geo_altitude": -1_500.0}, "bad_altitude"),
        ({"baro_altitude": None, "geo_altitude": 99_999.0}, "bad_altitude"),  # one missing hides nothing
        ({"velocity": -1.0}, "bad_velocity"),
        ({"true_track": 360.01}, "bad_track"),
        ({"vertical_rate": -200.0}, "bad_vertical_rate"),
        ({"last_contact": None}, "missing_last_contact"),
        ({"last_contact": API_TIME + 60, "time_position": API_TIME + 60}, "future_contact"),
        ({"time_position": API_TIME}, "position_after_contact"),
        ({"position_source": 7}, "bad_position_source"),
        ({"latitude": "north"}, "wrong_type_latitude"),
        ({"on_ground": "yes"}, "wrong_type_on_ground"),
        # JSON types Arrow would convert silently: a boolean is no number, a fraction no integer.
        ({"latitude": True}, "wrong_type_latitude"),
        ({"longitude": False}, "wrong_type_longitude"),
        ({"velocity": True}, "wrong_type_velocity"),
        ({"last_contact": API_TIME - 0.1}, "wrong_type_last_contact"),
        ({"position_source": 2.7}, "wrong_type_position_source"),
        ({"position_source": 2.0}, "wrong_type_position_source"),
        ({"on_ground": 1}, "wrong_type_on_ground"),
        ({"spi": 0}, "wrong_type_spi"),
        ({"sensors": [1, True]}, "wrong_type_sensors"),
    ],
)
def test_each_rule_quarantines_with_its_reason(overrides, reason):
    result = run(state(), state(**{"icao24": "0fff00", **overrides}))

    assert result.processed.num_rows == 1
    assert result.quarantine.schema == QUARANTINE_SCHEMA
    assert reason in reasons_of(result)[0]
    assert result.summary.reasons[reason] == 1


def test_values_at_the_edges_of_the_ranges_are_valid():
    result = run(
        state(latitude=-90.0, longitude=180.0, true_track=360.0, velocity=0.0, baro_altitude=-30.0),
        state(icao24="b00000", latitude=None, longitude=None, time_position=None),  # no position: incomplete
    )

    assert result.quarantine.num_rows == 0
    assert result.summary.completeness == 0.5


def test_a_row_breaking_several_rules_lists_every_reason_once():
    result = run(state(icao24="XYZ", latitude=99.0, true_track=-1.0))

    assert reasons_of(result) == [["bad_icao24", "bad_latitude", "bad_track"]]


def test_duplicates_keep_the_latest_contact_and_quarantine_the_rest():
    result = run(
        state(last_contact=API_TIME - 20, time_position=API_TIME - 20, callsign="OLD"),
        state(last_contact=API_TIME - 1, callsign="NEW"),
        state(last_contact=API_TIME - 30, time_position=API_TIME - 30, callsign="OLDER"),
    )

    assert result.processed.column("callsign").to_pylist() == ["NEW"]
    assert reasons_of(result) == [["duplicate_icao24"], ["duplicate_icao24"]]
    assert [orjson.loads(r)[1] for r in result.quarantine.column("record").to_pylist()] == ["OLD", "OLDER"]


def test_quarantine_keeps_the_row_exactly_as_sent():
    bad = state(latitude=123.456789, callsign="ODD     ")
    result = run(bad)

    assert orjson.loads(result.quarantine.column("record")[0].as_py()) == bad


def test_17_and_18_column_rows_and_a_mixture_are_accepted():
    eighteen = [*state(icao24="c00001"), 3]
    assert run(eighteen).processed.column("category").to_pylist() == [3]
    assert run(state()).processed.column("category").to_pylist() == [None]

    mixed = run(state(), eighteen)
    assert mixed.processed.num_rows == 2
    assert sorted(mixed.processed.column("category").to_pylist(), key=str) == [3, None]


def test_rows_that_are_not_state_vectors_are_quarantined_not_fatal():
    result = run(state(), ["short", "row"], None, {"icao24": "a"})

    assert result.processed.num_rows == 1
    assert reasons_of(result) == [["malformed_row"]] * 3
    assert result.summary.records == 4


def test_null_states_is_an_empty_snapshot():
    result = transform(snapshot(), CONTEXT)

    assert result.summary.records == 0
    assert result.processed.num_rows == result.quarantine.num_rows == 0
    assert result.summary.quality_score is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>busy</html>", "not JSON"),
        (b'{"time": 1, "states": [[', "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"states": []}', "integer 'time'"),
        (b'{"time": 1, "states": "none"}', "list or null"),
    ],
)
def test_malformed_snapshots_raise_a_clear_error(body, message):
    with pytest.raises(MalformedSnapshotError, match=message):
        parse_snapshot(body)


def test_fetched_equals_valid_plus_quarantined_on_simulated_traffic():
    from opensky_sim import INVALID_KINDS, Fleet

    fleet = Fleet(seed=3)
    body = orjson.dumps({"time": API_TIME, "states": fleet.states_at(API_TIME)})
    result = transform(body, CONTEXT)
    s = result.summary

    records, invalid = fleet.served(API_TIME)
    assert s.records == records == s.valid + s.quarantined
    assert s.valid == result.processed.num_rows
    assert s.quarantined == invalid
    assert set(s.reasons) == set(INVALID_KINDS)
    assert 0.97 < s.quality_score < 1.0
    assert s.countries > 40


def test_parquet_round_trips_the_valid_rows():
    result = run(state(), state(icao24="b00001"), state(icao24="bad"))

    table = pq.read_table(io.BytesIO(to_parquet(result.processed)))
    assert table.num_rows == 2
    assert table.schema.equals(PROCESSED_SCHEMA, check_metadata=False)
    assert table.column("icao24").to_pylist() == ["a1b2c3", "b00001"]


def test_quality_summary_counts():
    result = run(
        state(),
        state(icao24="b00001", on_ground=True, baro_altitude=None, origin_country="Germany"),
        state(icao24="bad"),
        state(icao24="b00002", latitude=None, longitude=None, time_position=None),
    )
    s = result.summary

    assert (s.records, s.valid, s.quarantined) == (4, 3, 1)
    assert s.quality_score == 0.75
    assert s.completeness == 0.75
    assert s.countries == 2
    assert s.on_ground_share == pytest.approx(1 / 3, abs=1e-6)
    assert s.reasons == {"bad_icao24": 1}


# icao24 values against which the rule and the duplicate check read the string buffers:
# lengths either side of 6 and of the 7 bytes a key holds, bytes beside the hex digits,
# multi-byte characters, a NUL (JSON can send one as \u0000), empty strings and nulls.
TRICKY_ICAO24 = [
    "a1b2c3", "a1b2c3", "A1B2C3", "a1b2c", "a1b2c34", "a1b2c/", "a1b2c:", "a1b2c`", "a1b2cg", "", "", None, None,
    "ab", "ab\u0000", "ab\u0000", "abcdefg", "abcdefg", "abcdefgh", "abcdefgh", "abcdefghi", "abcdé", "abcdé",
    "0fffff", "ffffff", "000000",
]  # fmt: skip


def test_the_icao24_rule_and_the_duplicate_check_agree_with_plain_python():
    rows = [
        state(icao24=icao24, last_contact=API_TIME - 1 - i, time_position=API_TIME - 1 - i)
        for i, icao24 in enumerate(TRICKY_ICAO24)
    ]
    result = run(*rows)

    reasons = dict(zip(result.quarantine["record"].to_pylist(), result.quarantine["reasons"].to_pylist(), strict=True))
    seen: set[object] = set()
    for row, icao24 in zip(rows, TRICKY_ICAO24, strict=True):
        bad = not (isinstance(icao24, str) and len(icao24) == 6 and set(icao24) <= set("0123456789abcdef"))
        repeated = icao24 is not None and icao24 in seen  # the earlier row has the later contact
        seen.add(icao24)
        expected = ["bad_icao24"] * bad + ["duplicate_icao24"] * repeated
        assert reasons.get(orjson.dumps(row).decode(), []) == expected, icao24
