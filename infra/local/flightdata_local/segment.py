"""Run the daily flights query against the local endpoint, outside Airflow: what the
flights benchmark and tests time and score. The DAG runs the same SQL file with the same
plan (``flightdata.orchestration.flights``)."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq

from flightdata import lake, reporting, resources
from flightdata.orchestration import flights
from flightdata.orchestration.templating import TemplateFacts, sql_templates
from flightdata_local import query


class _PlanOnly:
    """The one thing the SQL asks of its task instance: the plan task's XCom."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan

    def xcom_pull(self, task_ids: str) -> dict[str, Any]:
        assert task_ids == "plan", task_ids
        return {"flights": self.plan}


def render(names: resources.Resources, plan: dict[str, Any], sql_file: str = "flights_day.sql") -> str:
    return sql_templates().get_template(sql_file).render(fd=TemplateFacts(names), ti=_PlanOnly(plan))


def check(clients: Any, names: resources.Resources, plan: dict[str, Any]) -> dict[str, int]:
    """The flights data checks on the day ``plan`` staged, as the DAG's verify_flights runs
    them (raises ``checks.DataCheckFailed``)."""
    athena = clients("athena")
    execution = query.run(athena, names, render(names, plan, "check_flights_day.sql"))
    return flights.verify(names, plan, query.rows(athena, execution["QueryExecutionId"])[0])


def report_results(clients: Any, names: resources.Resources, day: datetime) -> dict[str, reporting.QueryResult]:
    """Every report query of ``day``, run as the daily DAG runs them."""
    facts = TemplateFacts(names, report_filter=lake.day_filter(day))
    athena = clients("athena")
    results = {}
    for name in reporting.REPORT_NAMES:
        execution = query.run(athena, names, sql_templates().get_template(f"report_{name}.sql").render(fd=facts))
        rows = query.rows(athena, execution["QueryExecutionId"])
        results[name] = reporting.QueryResult(rows, query.data_scanned(execution))
    return results


def segment_day(clients: Any, names: resources.Resources, day: datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Segment ``day`` (midnight UTC), check it and publish it; (the flights, what the query
    cost)."""
    plan = flights.plan(names, day, f"local-{time.time_ns()}", 1)
    started = time.perf_counter()
    execution = query.run(clients("athena"), names, render(names, plan))
    seconds = time.perf_counter() - started
    check(clients, names, plan)
    flights.publish(clients("glue"), clients("s3"), names, plan)
    s3 = clients("s3")
    bucket, _, prefix = plan["staging_location"].removeprefix("s3://").partition("/")
    rows: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return rows, {"flights_ctas_seconds": round(seconds, 2), "flights_bytes_scanned": query.data_scanned(execution)}
