"""Athena named queries for the daily reports, rendered from the same SQL files the DAG runs.

In the console they report on yesterday (UTC); the DAG renders the same files for any day.
"""

from __future__ import annotations

from flightdata.orchestration.templating import TemplateFacts, sql_templates
from flightdata.reporting import REPORT_NAMES, TITLES
from flightdata.resources import Resources

YESTERDAY = "(current_date - interval '1' day)"
YESTERDAY_FILTER = " AND ".join(
    f"{key} = date_format({YESTERDAY}, '{fmt}')" for key, fmt in (("year", "%Y"), ("month", "%m"), ("day", "%d"))
)


def named_queries(names: Resources) -> list[tuple[str, str, str]]:
    """(name, description, SQL) for every report."""
    queries = []
    for name in REPORT_NAMES:
        sql = (
            sql_templates()
            .get_template(f"report_{name}.sql")
            .render(fd=TemplateFacts(names, report_filter=YESTERDAY_FILTER))
        )
        queries.append((name, f"{TITLES[name]}, yesterday (UTC)", sql.strip()))
    return queries
