"""The airports reference table: what it keeps, its columns, and the same bytes every time."""

from __future__ import annotations

import io

import pyarrow.compute as pc
import pyarrow.parquet as pq

from flightdata import schema
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


def test_the_file_has_the_schema_s_columns_and_the_same_bytes_every_time(tmp_path):
    body = reference.airports_parquet()
    parquet = pq.read_table(io.BytesIO(body))

    assert parquet.column_names == [c.name for c in schema.AIRPORTS]
    assert b"airportsdata" in parquet.schema.metadata[b"source"]
    assert reference.airports_parquet() == body
    written = reference.write_airports(tmp_path)
    assert written.read_bytes() == body
    mtime = written.stat().st_mtime_ns
    reference.write_airports(tmp_path)
    assert written.stat().st_mtime_ns == mtime  # unchanged, so the CDK asset hash stays
