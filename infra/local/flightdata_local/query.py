"""Athena queries against the local endpoint, run to their end and read: for the stack, the
demo, the flights benchmark and the tests. Airflow's tasks use the provider's operator and
hook instead (``flightdata.orchestration.queries``); both read rows with
``reporting.result_set_rows``."""

from __future__ import annotations

import time
from typing import Any

from flightdata import resources
from flightdata.reporting import result_set_rows

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class QueryFailed(RuntimeError):
    """The query ended, but not in success; the message carries Athena's reason."""


def finish(
    athena: Any,
    sql: str,
    database: str,
    workgroup: str | None = None,
    output: str | None = None,
    timeout_s: float = 300,
) -> dict[str, Any]:
    """Start ``sql`` and wait for its end; its QueryExecution, whatever the end was."""
    request: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": database}}
    if workgroup:
        request["WorkGroup"] = workgroup
    if output:
        request["ResultConfiguration"] = {"OutputLocation": output}
    query_id = athena.start_query_execution(**request)["QueryExecutionId"]
    deadline = time.monotonic() + timeout_s
    while True:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in TERMINAL:
            return execution
        if time.monotonic() > deadline:
            athena.stop_query_execution(QueryExecutionId=query_id)
            raise TimeoutError(f"query {query_id} did not end within {timeout_s:.0f} s; stopped it")
        time.sleep(0.05)


def run(athena: Any, names: resources.Resources, sql: str) -> dict[str, Any]:
    """``sql`` in the project's database and work group, as the DAGs run it; its
    QueryExecution. Raises ``QueryFailed`` unless it succeeded."""
    execution = finish(athena, sql, names.glue_database, names.workgroup, names.athena_output_location)
    status = execution["Status"]
    if status["State"] != "SUCCEEDED":
        raise QueryFailed(f"query {execution['QueryExecutionId']} {status['State']}: {status.get('StateChangeReason')}")
    return execution


def rows(athena: Any, query_id: str) -> list[dict[str, str | None]]:
    """Every row of a finished SELECT, keyed by column name."""
    return result_set_rows(athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id))


def select(athena: Any, names: resources.Resources, sql: str) -> list[dict[str, str | None]]:
    """Run a SELECT as ``run`` does; its rows."""
    return rows(athena, run(athena, names, sql)["QueryExecutionId"])


def data_scanned(execution: dict[str, Any]) -> int:
    return int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
