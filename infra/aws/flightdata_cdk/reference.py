"""Reference data the lake carries beside the state vectors: the airports table.

Built from the ``airportsdata`` package (MIT licence; its data come from public sources it
names), filtered to the airports scheduled and general traffic use: those with a
four-letter ICAO code (codes with digits are local identifiers of private strips) that
are not heliports. Both deployments write the same bytes: the CDK app ships the file with
a BucketDeployment, the local deploy puts it; readers find it through the ``airports``
Glue table (``flightdata.catalog``).
"""

from __future__ import annotations

import io
import re
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flightdata import resources, schema

BUILD = Path(__file__).resolve().parents[3] / "build" / "reference" / "airports"  # the CDK asset's folder
AIRPORTS_FILE = "airports.parquet"
AIRPORTS_KEY = f"{resources.AIRPORTS}/{AIRPORTS_FILE}"
_ICAO = re.compile(r"^[A-Z]{4}$")
_TYPES = {"string": pa.string(), "double": pa.float64(), "int": pa.int32()}


def _keep(airport: dict) -> bool:
    return bool(_ICAO.match(airport["icao"])) and "heliport" not in airport["name"].lower()


def airports_table() -> pa.Table:
    """Every kept airport, one row each, sorted by ICAO code, with ``schema.AIRPORTS``'s columns."""
    import airportsdata

    kept = sorted((a for a in airportsdata.load("ICAO").values() if _keep(a)), key=lambda a: a["icao"])
    columns = {
        "icao": [a["icao"] for a in kept],
        "iata": [a["iata"] or None for a in kept],
        "name": [a["name"] for a in kept],
        "city": [a["city"] or None for a in kept],
        "country": [a["country"] for a in kept],
        "latitude": [float(a["lat"]) for a in kept],
        "longitude": [float(a["lon"]) for a in kept],
        "elevation_ft": [round(a["elevation"]) for a in kept],
    }
    arrow_schema = pa.schema(
        [pa.field(c.name, _TYPES[c.glue_type], nullable=c.name in ("iata", "city")) for c in schema.AIRPORTS],
        metadata={"source": f"airportsdata {version('airportsdata')} (MIT licence)"},
    )
    return pa.table(columns, schema=arrow_schema)


def airports_parquet() -> bytes:
    """The table as one Parquet file; the same package version gives the same bytes."""
    sink = io.BytesIO()
    pq.write_table(airports_table(), sink, compression="zstd")
    return sink.getvalue()


def write_airports(directory: Path) -> Path:
    """The file under ``directory``, for the CDK app's asset; rewritten only when it changed."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / AIRPORTS_FILE
    body = airports_parquet()
    if not target.exists() or target.read_bytes() != body:
        target.write_bytes(body)
    return target
