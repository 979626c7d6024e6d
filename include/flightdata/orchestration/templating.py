"""What DAG templates and SQL files read as ``{{ fd.* }}``, without touching AWS or Airflow's
metadata at parse time: resource names and tables resolved at render time, the column lists
SQL needs (from the one schema), and the daily report's day from the run's own context."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import pass_context

from flightdata.schema import EARTH_RADIUS_KM

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


@cache
def sql_templates() -> jinja2.Environment:
    """The SQL files as Jinja templates, rendered outside Airflow (the Athena named queries,
    the local flights runs) as the DAGs render them: a missing name is an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(SQL_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - SQL
    )


class TemplateFacts:
    """``names`` fixes the resources, and ``report_filter`` the report's partition filter
    (the Athena named queries: yesterday, in SQL); by default both come from the run."""

    def __init__(self, names: Any = None, report_filter: str | None = None) -> None:
        self.names = names
        self.report_filter = report_filter

    @property
    def processed_columns(self) -> str:
        from flightdata.schema import PROCESSED_COLUMNS

        return ", ".join(c.name for c in PROCESSED_COLUMNS)

    def table(self, kind: str) -> str:
        """The qualified Glue table of a lake prefix: ``fd.table('curated')``."""
        names = self._names()
        try:
            return f"{names.glue_database}.{names.tables[kind]}"
        except KeyError:
            raise KeyError(f"fd.table({kind!r}): no such table; known: {', '.join(names.tables)}") from None

    def committed(self, kind: str, condition: str) -> str:
        """The ``kind`` rows (processed or quarantine) of committed snapshots only."""
        from flightdata.catalog import committed_rows

        return committed_rows(self._names(), kind, condition)

    def data_checks(self, kind: str, plan: dict[str, Any]) -> str:
        """The SELECT of the data checks (``flightdata.checks``) on the ``kind`` table that
        ``plan`` stages: ``fd.data_checks('flights', plan)``."""
        from flightdata import checks
        from flightdata.orchestration import compaction, flights

        names = self._names()
        staged = {
            "curated": lambda: compaction.data_checks(plan),
            "flights": lambda: flights.data_checks(names, plan),
        }
        if kind not in staged:
            raise KeyError(f"fd.data_checks({kind!r}): no checks; known: {', '.join(staged)}")
        return checks.select(staged[kind](), f"{names.glue_database}.{plan['staging_table']}")

    @staticmethod
    def great_circle_km(latitude_1: str, longitude_1: str, latitude_2: str, longitude_2: str) -> str:
        """The haversine distance in km between two positions given as SQL expressions."""
        return (
            f"2 * {EARTH_RADIUS_KM} * asin(sqrt("
            f"power(sin(radians({latitude_2} - {latitude_1}) / 2), 2)"
            f" + cos(radians({latitude_1})) * cos(radians({latitude_2}))"
            f" * power(sin(radians({longitude_2} - {longitude_1}) / 2), 2)))"
        )

    @property
    def planned_minutes_by_hour(self) -> str:
        """``(VALUES ('00', 60), ...) AS planned (hour, minutes_planned)``: the minutes of each
        hour of the day the credit plan fetches (60 without a tier), the same count the
        hourly compaction divides by, so the report's completeness is the one definition."""
        from datetime import UTC, datetime, timedelta

        from flightdata.orchestration.pacing import planned_minutes

        day = datetime(2000, 1, 1, tzinfo=UTC)  # the plan repeats every day
        rows = ", ".join(f"('{hour:02d}', {len(planned_minutes(day + timedelta(hours=hour)))})" for hour in range(24))
        return f"(VALUES {rows}) AS planned (hour, minutes_planned)"

    @pass_context
    def report_day_filter(self, context: Any) -> str:
        """The daily report's day as a partition filter: param ``day``, else the day before the
        run (its logical date, or when it was due for a run without one)."""
        if self.report_filter is not None:
            return self.report_filter
        from flightdata.orchestration.daily_report import plan_day

        run = context.get("dag_run")
        when = context.get("logical_date") or (run.run_after if run is not None else None)
        return str(plan_day(when, (context.get("params") or {}).get("day"))["partition_filter"])

    def _names(self) -> Any:
        from flightdata.resources import Resources

        return self.names or Resources.from_env()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._names(), name)
