"""Data checks on the tables the DAGs publish, declared as data, in the spirit of dbt's
schema tests: ``not_null``, ``unique``, ``accepted`` (a condition every row meets) and
``exists_in`` (a value found in a reference table's column).

Each table's checks become one Athena SELECT with one column per check, counting the rows
(for ``unique``, the keys) that break it. The DAG runs that query on the run's staged table
before publishing it, deferred like every other query, and :func:`verify` fails the run
with every broken check named; the run's cleanup then removes what it staged, and the
published table stays as it was.

Not the provider's ``SQLColumnCheckOperator``/``SQLTableCheckOperator``: those hold a
worker slot while PyAthena polls, and the column checks cost a query per column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flightdata import resources

COLUMN_PREFIX = "check_"


class DataCheckFailed(RuntimeError):
    """Staged rows broke a data check; nothing was published."""


@dataclass(frozen=True)
class Check:
    name: str  # the result column, after COLUMN_PREFIX
    says: str  # what every row meets, for the failure message
    failures: str  # SQL counting what breaks it; {table} is the checked table
    counts: str = "rows"  # what ``failures`` counts


def not_null(*columns: str) -> tuple[Check, ...]:
    return tuple(Check(f"not_null_{c}", f"{c} is never null", f"count_if({c} IS NULL)") for c in columns)


def unique(*columns: str) -> Check:
    key = ", ".join(columns)
    return Check(
        f"unique_{'_'.join(columns)}",
        f"({key}) is unique",
        f"(SELECT count(*) FROM (SELECT 1 FROM {{table}} GROUP BY {key} HAVING count(*) > 1) AS repeated)",
        counts="keys",
    )


def accepted(name: str, condition: str, says: str) -> Check:
    """Every row meets the SQL ``condition`` (``says`` in words); a row where it is null (a
    missing value) breaks nothing, as in dbt's ``accepted_range``: ``not_null`` says where
    values must be present."""
    return Check(name, says, f"count_if(NOT ({condition}))")


def exists_in(column: str, table: str, key: str) -> Check:
    """Every value of ``column`` is a ``key`` of the reference ``table`` (a null is no value)."""
    name = table.rpartition(".")[2]  # without its database
    return Check(
        f"{column}_in_{name}",
        f"{column} is an {name}.{key}",
        f"(SELECT count(*) FROM {{table}} WHERE {column} IS NOT NULL"
        f" AND {column} NOT IN (SELECT {key} FROM {table} WHERE {key} IS NOT NULL))",
    )


def flights(names: resources.Resources, day_start: int, day_end: int) -> tuple[Check, ...]:
    """The ``flights`` of one day (``flightdata.orchestration.flights``): Unix seconds
    ``day_start`` to ``day_end``."""
    airports = f"{names.glue_database}.{names.tables[resources.AIRPORTS]}"
    return (
        *not_null("icao24", "first_seen", "last_seen", "takeoff_seen", "positions"),
        unique("icao24", "takeoff_seen"),
        accepted(
            "takeoff_in_day", f"takeoff_seen >= {day_start} AND takeoff_seen < {day_end}", "takeoff_seen is in the day"
        ),
        accepted(
            "times_in_order",
            "first_seen <= takeoff_seen AND takeoff_seen <= last_seen",
            "first_seen <= takeoff_seen <= last_seen",
        ),
        accepted("positions_seen", "positions >= 1", "positions >= 1"),
        exists_in("departure_airport", airports, "icao"),
        exists_in("arrival_airport", airports, "icao"),
    )


def curated(hour: datetime) -> tuple[Check, ...]:
    """One compacted hour of ``curated`` (its row count is reconciled with the commits by
    ``sql/check_compacted_hour.sql`` itself)."""
    start, end = (f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}'" for t in (hour, hour + timedelta(hours=1)))
    return (
        *not_null("icao24", "snapshot_time", "last_contact", "region", "ingested_at"),
        unique("region", "snapshot_time", "icao24"),
        accepted(
            "snapshot_in_hour", f"snapshot_time >= {start} AND snapshot_time < {end}", "snapshot_time is in the hour"
        ),
    )


def select(checks: tuple[Check, ...], table: str) -> str:
    """One SELECT over ``table`` with a ``check_<name>`` column per check."""
    columns = ",\n    ".join(f"{c.failures.format(table=table)} AS {COLUMN_PREFIX}{c.name}" for c in checks)
    return f"SELECT\n    {columns}\nFROM {table}"


def verify(checks: tuple[Check, ...], row: Mapping[str, str | None], what: str) -> dict[str, int]:
    """The check query's row as counts by check name; raises DataCheckFailed naming every
    check that something broke (or that the row lacks)."""
    counts: dict[str, int] = {}
    for check in checks:
        value = row.get(COLUMN_PREFIX + check.name)
        counts[check.name] = -1 if value is None else int(value)
    broken = [_broken(c, n) for c in checks if (n := counts[c.name])]
    if broken:
        raise DataCheckFailed(f"{what}: {len(broken)} of {len(checks)} data checks failed: {'; '.join(broken)}")
    return counts


def _broken(check: Check, count: int) -> str:
    if count < 0:
        return f"the query gave no result for '{check.says}'"
    if count == 1:
        return f"1 {check.counts.removesuffix('s')} breaks '{check.says}'"
    return f"{count} {check.counts} break '{check.says}'"
