"""Athena from Airflow: the provider's AthenaOperator with the project's shared arguments, and
reading finished queries through its AthenaHook."""

from __future__ import annotations

import os
from typing import Any

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.operators.athena import AthenaOperator

from flightdata.orchestration.aws import AWS_CONN_ID
from flightdata.orchestration.links import AthenaQueryLink
from flightdata.reporting import result_set_rows

# How often the triggerer asks Athena whether a query finished: an Airflow configuration
# option, ``flightdata.athena_poll_seconds`` (5 s by default, a fair wait for Athena on AWS;
# the local stack's queries finish in about a second, so it asks every second).
ATHENA_POLL_ENV_VAR = "AIRFLOW__FLIGHTDATA__ATHENA_POLL_SECONDS"


def athena_poll_seconds() -> int:
    value = os.environ.get(ATHENA_POLL_ENV_VAR) or "5"
    if not value.isdigit() or not 1 <= int(value) <= 60:
        raise ValueError(f"{ATHENA_POLL_ENV_VAR} must be a whole number of seconds from 1 to 60, not {value!r}")
    return int(value)


# Every query runs in the project's database and work group, deferred (the triggerer waits,
# not a worker slot). Templates resolve the names at run time, never at DAG parse time.
ATHENA_ARGUMENTS: dict[str, Any] = {
    "database": "{{ fd.glue_database }}",
    "workgroup": "{{ fd.workgroup }}",
    "output_location": "{{ fd.athena_output_location }}",
    "aws_conn_id": AWS_CONN_ID,
    "deferrable": True,
    "sleep_time": athena_poll_seconds(),
}


class ProjectAthenaOperator(AthenaOperator):
    """The provider's operator with a link that works where the query ran: the provider's own
    "Query Results" link always opens the AWS console, a dead end for a local query."""

    operator_extra_links = (AthenaQueryLink(),)  # type: ignore[assignment]  # another link class, on purpose


def athena_query(task_id: str, sql_file: str, **arguments: Any) -> AthenaOperator:
    """An Athena task running ``sql_file`` (from the DAG's template search path)."""
    return ProjectAthenaOperator(task_id=task_id, query=sql_file, **{**ATHENA_ARGUMENTS, **arguments})


class NoResults(RuntimeError):
    """The query has no results to read: it has not succeeded (yet)."""


def result_rows(hook: AthenaHook, query_id: str) -> list[dict[str, str | None]]:
    """All rows of a finished SELECT, keyed by column name, through the hook's paginator (one
    status check, then a call per page of up to 1,000 rows)."""
    pages = hook.get_query_results_paginator(query_id)
    if pages is None:
        raise NoResults(f"query {query_id} has no results: it has not succeeded (see its state in the Athena task)")
    return result_set_rows(pages)


def bytes_scanned(hook: AthenaHook, query_id: str) -> int:
    info = hook.get_query_info(query_id)
    return int(info["QueryExecution"]["Statistics"].get("DataScannedInBytes", 0))
