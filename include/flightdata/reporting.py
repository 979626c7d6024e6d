"""The daily report: each query's rows as CSV, and one self-contained HTML page with charts.

The page has no scripts, fonts or images from elsewhere: charts are inline SVG, so it opens
offline and from an S3 download alike.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass

# (query name, title, label column, value column) in the order the page shows them.
REPORTS: tuple[tuple[str, str, str, str], ...] = (
    ("flights_by_country", "Aircraft by origin country", "origin_country", "aircraft"),
    ("altitude_bands", "Airborne state vectors by altitude band", "altitude_band", "state_vectors"),
    ("flight_status", "Flight status (state vectors)", "status", "state_vectors"),
    ("altitude_stats", "Airborne altitude (ft): average, median, highest", "statistic", "altitude_ft"),
    ("quality_by_hour", "Data quality by hour (% valid)", "hour", "quality_score_pct"),
    ("busiest_hours", "Busiest hours (distinct aircraft)", "hour", "aircraft"),
    ("on_ground_share", "On-ground share by hour (%)", "hour", "on_ground_pct"),
    ("completeness_by_hour", "Completeness by hour (% of minutes committed)", "hour", "completeness_pct"),
)
RECONCILIATION = "completeness_by_hour"


def unreconciled_hours(rows: list[dict[str, str | None]]) -> list[str]:
    """Hours whose curated rows differ from the rows their commits recorded."""
    return [str(row["hour"]) for row in rows if str(row.get("reconciled")).lower() != "true"]


REPORT_NAMES = tuple(name for name, *_ in REPORTS)


@dataclass(frozen=True)
class QueryResult:
    rows: list[dict[str, str | None]]
    bytes_scanned: int


def to_csv(rows: list[dict[str, str | None]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
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
    "Check that opensky_flights ran then, and that opensky_compaction ran for its hours."
)


def render_html(day: str, results: dict[str, QueryResult]) -> str:
    empty = is_empty(results)
    sections = [f"<section><h2>No data</h2><p class='empty'>{html.escape(EMPTY_DAY)}</p></section>"] if empty else []
    for name, title, label, value in REPORTS if not empty else ():
        result = results.get(name)
        if result is None:
            continue
        sections.append(
            f"<section><h2>{html.escape(title)}</h2>"
            f"<p class='meta'>{result.bytes_scanned:,} bytes scanned · {len(result.rows)} "
            f"{'row' if len(result.rows) == 1 else 'rows'}</p>"
            f"{bar_chart(result.rows, label, value)}{_table(result.rows)}</section>"
        )
    total = sum(r.bytes_scanned for r in results.values())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>flightdata daily report {html.escape(day)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}h1{font-size:1.5rem}"
        "h2{font-size:1.1rem;margin-top:2rem}svg text{font-size:12px;fill:#1d2733}svg rect{fill:#2f6fae}"
        ".meta{color:#5b6b7b;font-size:.85rem}table{border-collapse:collapse;font-size:.85rem}"
        "td,th{border:1px solid #d5dde5;padding:2px 8px;text-align:left}"
        "</style></head><body>"
        f"<h1>flightdata daily report · {html.escape(day)}</h1>"
        f"<p class='meta'>{len(results)} Athena queries, {total:,} bytes scanned in all.</p>"
        + "".join(sections)
        + "</body></html>"
    )
