"""The daily report: each query's rows as CSV, and one self-contained HTML page with charts.

The page has no scripts, fonts or images from elsewhere: charts are inline SVG, so it opens
offline and from an S3 download alike.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# (query name, title with units, label column, value column) in the order the page shows
# them: the flights first, then the state vectors, then quality and reconciliation.
REPORTS: tuple[tuple[str, str, str, str], ...] = (
    ("flights_per_hour", "Flights per hour (flights, by UTC hour of takeoff)", "hour", "flights"),
    ("busiest_airports", "Busiest airports (movements: departures + arrivals)", "airport", "movements"),
    ("top_routes", "Top routes (flights)", "route", "flights"),
    ("flights_by_origin_country", "Flights by origin country (flights)", "origin_country", "flights"),
    ("flight_status", "Flight status (state vectors)", "status", "state_vectors"),
    ("altitude_stats", "Airborne altitude (ft): average, median, highest", "statistic", "altitude_ft"),
    ("altitude_bands", "Airborne state vectors by altitude band (state vectors)", "altitude_band", "state_vectors"),
    ("aircraft_by_country", "Aircraft by origin country (aircraft)", "origin_country", "aircraft"),
    ("busiest_hours", "Busiest hours (distinct aircraft)", "hour", "aircraft"),
    ("on_ground_share", "On-ground share by hour (%)", "hour", "on_ground_pct"),
    ("quality_by_hour", "Data quality by hour (% valid)", "hour", "quality_score_pct"),
    (
        "completeness_by_hour",
        "Reconciliation: completeness by hour (% of the planned minutes committed)",
        "hour",
        "completeness_pct",
    ),
)
# The map: positions per 2-degree cell, with the busiest airports marked.
MAP = "position_density"
MAP_TITLE = "Where the traffic was (positions per 2° cell, busiest airports marked)"
FLIGHTS_PER_HOUR, BUSIEST_AIRPORTS = "flights_per_hour", "busiest_airports"
RECONCILIATION = "completeness_by_hour"


def unreconciled_hours(rows: list[dict[str, str | None]]) -> list[str]:
    """Hours whose curated rows differ from the rows their commits recorded."""
    return [str(row["hour"]) for row in rows if str(row.get("reconciled")).lower() != "true"]


REPORT_NAMES = (*(name for name, *_ in REPORTS), MAP)
TITLES = {**{name: title for name, title, _, _ in REPORTS}, MAP: MAP_TITLE}


@dataclass(frozen=True)
class QueryResult:
    rows: list[dict[str, str | None]]
    bytes_scanned: int


def result_set_rows(pages: Iterable[Mapping[str, Any]]) -> list[dict[str, str | None]]:
    """The rows of a finished SELECT from its ``GetQueryResults`` pages, keyed by column
    name (the first row of the first page is the header, and names are never null)."""
    rows = [[cell.get("VarCharValue") for cell in row["Data"]] for page in pages for row in page["ResultSet"]["Rows"]]
    if not rows:
        return []
    header = [str(name) for name in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


# A cell a spreadsheet would read as a formula (OWASP's CSV injection list); a number such
# as -12.5 is still a number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def spreadsheet_safe(value: str | None) -> str | None:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    if value and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, str | None]]) -> str:
    """The rows as CSV for analysts' spreadsheets (RFC 4180: CRLF line ends, so a carriage
    return inside a value is quoted too); formula-like text is neutralised."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({name: spreadsheet_safe(value) for name, value in row.items()} for row in rows)
    return out.getvalue()


def _number(value: str | None) -> float:
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0


def bar_chart(rows: list[dict[str, str | None]], label: str, value: str, limit: int = 24) -> str:
    """A horizontal bar chart as inline SVG."""
    rows = rows[:limit]
    if not rows:
        return "<p class='empty'>No data for this day.</p>"
    peak = max(_number(r.get(value)) for r in rows) or 1.0
    bar_h, gap, left, width = 18, 6, 190, 420
    height = len(rows) * (bar_h + gap)
    parts = [f"<svg role='img' width='{left + width + 90}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"]
    for i, row in enumerate(rows):
        y = i * (bar_h + gap)
        amount = _number(row.get(value))
        w = max(1.0, width * amount / peak)
        name = html.escape(str(row.get(label) or "(none)"))
        parts.append(
            f"<text x='{left - 8}' y='{y + 13}' text-anchor='end'>{name}</text>"
            f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{bar_h}' rx='2'/>"
            f"<text x='{left + w + 6:.1f}' y='{y + 13}'>{html.escape(str(row.get(value)))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict[str, str | None]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<details><summary>Rows</summary><table><tr>{head}</tr>{body}</table></details>"


def is_empty(results: dict[str, QueryResult]) -> bool:
    """No query found a row: nothing was collected that day (or it is not in the catalog)."""
    return not any(result.rows for result in results.values())


EMPTY_DAY = (
    "No data was collected on this day: no snapshot of it is in the lake's processed table. "
    "Check that opensky_state_vectors ran then, and that opensky_compaction ran for its hours."
)


def density_map(cells: list[dict[str, str | None]], airports: list[dict[str, str | None]], marked: int = 10) -> str:
    """An equirectangular world map as inline SVG: each cell shaded by its positions (on a
    log scale), a 30-degree graticule, and the ``marked`` busiest airports as labelled dots."""
    scale = 2  # pixels per degree
    width, height = 360 * scale, 180 * scale
    parts = [
        f"<svg role='img' aria-label='map of positions' class='map' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>",
        f"<rect class='sea' width='{width}' height='{height}'/>",
    ]
    for meridian in range(-180, 181, 30):
        gx = (meridian + 180) * scale
        parts.append(f"<line class='grid' x1='{gx}' y1='0' x2='{gx}' y2='{height}'/>")
        if -180 < meridian < 180:
            parts.append(f"<text class='grid-label' x='{gx + 2}' y='{height - 4}'>{meridian}°</text>")
    for parallel in range(-90, 91, 30):
        gy = (90 - parallel) * scale
        parts.append(f"<line class='grid' x1='0' y1='{gy}' x2='{width}' y2='{gy}'/>")
        if -90 < parallel < 90:
            parts.append(f"<text class='grid-label' x='2' y='{gy - 2}'>{parallel}°</text>")
    counts = [_number(c.get("positions")) for c in cells]
    peak = math.log1p(max(counts, default=1.0))
    for cell, count in zip(cells, counts, strict=True):
        lat, lon = _number(cell.get("cell_latitude")), _number(cell.get("cell_longitude"))
        shade = 0.15 + 0.85 * math.log1p(count) / peak if peak else 1.0
        parts.append(
            f"<rect class='cell' x='{(lon + 180) * scale:.0f}' y='{(88 - lat) * scale:.0f}' width='{2 * scale}' "
            f"height='{2 * scale}' fill-opacity='{shade:.2f}'><title>{int(count):,} positions</title></rect>"
        )
    labels: list[tuple[float, float]] = []
    for airport in airports[:marked]:
        if airport.get("latitude") is None or airport.get("longitude") is None:
            continue
        x = (_number(airport["longitude"]) + 180) * scale
        y = (90 - _number(airport["latitude"])) * scale
        name = html.escape(str(airport.get("airport")))
        parts.append(f"<circle class='airport' cx='{x:.1f}' cy='{y:.1f}' r='4'><title>{name}</title></circle>")
        # Busier airports keep their label where a quieter one's would overlap it.
        if all(abs(x - lx) > 44 or abs(y - ly) > 13 for lx, ly in labels):
            labels.append((x, y))
            parts.append(f"<text class='airport-label' x='{x + 6:.1f}' y='{y + 4:.1f}'>{name}</text>")
    parts.append("</svg>")
    return "".join(parts)


def headline(results: dict[str, QueryResult]) -> str:
    """The day in one line: flights found, and how many were seen from takeoff to landing."""
    hours = results[FLIGHTS_PER_HOUR].rows if FLIGHTS_PER_HOUR in results else []
    flights = sum(int(_number(r.get("flights"))) for r in hours)
    whole = sum(int(_number(r.get("seen_whole"))) for r in hours)
    if not flights:
        return "No flights were segmented for this day."
    return f"{flights:,} flights, {whole:,} of them seen from takeoff to landing."


def _section(name: str, title: str, result: QueryResult, figure: str) -> str:
    return (
        f"<section id='{html.escape(name)}'><h2>{html.escape(title)}</h2>"
        f"<p class='meta'>{result.bytes_scanned:,} bytes scanned · {len(result.rows)} "
        f"{'row' if len(result.rows) == 1 else 'rows'}</p>"
        f"{figure}{_table(result.rows)}</section>"
    )


def render_html(day: str, results: dict[str, QueryResult]) -> str:
    empty = is_empty(results)
    sections = []
    if empty:
        sections.append(f"<section id='empty'><h2>No data</h2><p class='empty'>{html.escape(EMPTY_DAY)}</p></section>")
    else:
        sections.append(f"<p class='headline'>{html.escape(headline(results))}</p>")
        for name, title, label, value in REPORTS:
            if name in results:
                sections.append(_section(name, title, results[name], bar_chart(results[name].rows, label, value)))
        if MAP in results:
            airports = results[BUSIEST_AIRPORTS].rows if BUSIEST_AIRPORTS in results else []
            sections.append(_section(MAP, MAP_TITLE, results[MAP], density_map(results[MAP].rows, airports)))
    total = sum(r.bytes_scanned for r in results.values())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>flightdata daily report {html.escape(day)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}h1{font-size:1.5rem}"
        "h2{font-size:1.1rem;margin-top:2rem}svg text{font-size:12px;fill:#1d2733}svg rect{fill:#2f6fae}"
        ".meta{color:#5b6b7b;font-size:.85rem}.headline{font-size:1.1rem;font-weight:600}"
        "table{border-collapse:collapse;font-size:.85rem}"
        "td,th{border:1px solid #d5dde5;padding:2px 8px;text-align:left}"
        "svg.map rect.sea{fill:#eef3f8}svg.map rect.cell{fill:#c0392b}"
        "svg.map line.grid{stroke:#b8c4d0;stroke-width:.5}svg.map text.grid-label{font-size:9px;fill:#7b8a99}"
        "svg.map circle.airport{fill:#1d2733;stroke:#fff;stroke-width:1.5}"
        "svg.map text.airport-label{font-size:11px;font-weight:600;fill:#1d2733}"
        "</style></head><body>"
        f"<h1>flightdata daily report · {html.escape(day)}</h1>"
        f"<p class='meta'>{len(results)} Athena queries, {total:,} bytes scanned in all.</p>"
        + "".join(sections)
        + "</body></html>"
    )
