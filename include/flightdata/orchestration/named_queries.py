"""Athena named queries for the daily reports, rendered from the same SQL files the DAG runs.

In the console they report on yesterday (UTC); the DAG renders the same files for any day.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

import flightdata
from flightdata.orchestration.templating import TemplateFacts
from flightdata.reporting import REPORT_NAMES, TITLES
from flightdata.resources import Resources

SQL_DIR = Path(flightdata.__file__).parent / "sql"
YESTERDAY = "(current_date - interval '1' day)"
YESTERDAY_FILTER = " AND ".join(
    f"{key} = date_format({YESTERDAY}, '{fmt}')" for key, fmt in (("year", "%Y"), ("month", "%m"), ("day", "%d"))
)


def named_queries(names: Resources) -> list[tuple[str, str, str]]:
    """(name, description, SQL) for every report."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SQL_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - SQL
    )
    queries = []
    for name in REPORT_NAMES:
        sql = environment.get_template(f"report_{name}.sql").render(
            fd=TemplateFacts(names, report_filter=YESTERDAY_FILTER)
        )
        queries.append((name, f"{TITLES[name]}, yesterday (UTC)", sql.strip()))
    return queries
