"""Run the daily flights query against the local endpoint, outside Airflow: what the
flights benchmark and tests time and score. The DAG runs the same SQL file with the same
plan (``flightdata.orchestration.flights``)."""

from __future__ import annotations

import io
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import pyarrow.parquet as pq

import flightdata
from flightdata import lake, reporting, resources
from flightdata.orchestration import flights
from flightdata.orchestration.templating import TemplateFacts

SQL_DIR = Path(flightdata.__file__).parent / "sql"


class _PlanOnly:
    """The one thing the SQL asks of its task instance: the plan task's XCom."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan

    def xcom_pull(self, task_ids: str) -> dict[str, Any]:
        assert task_ids == "plan", task_ids
        return {"flights": self.plan}


def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(SQL_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - SQL
    )


def render(names: resources.Resources, plan: dict[str, Any]) -> str:
    return _templates().get_template("flights_day.sql").render(fd=TemplateFacts(names), ti=_PlanOnly(plan))


def report_results(clients: Any, names: resources.Resources, day: datetime) -> dict[str, reporting.QueryResult]:
    """Every report query of ``day``, run as the daily DAG runs them."""
    values = {key: value for key, value in lake.partition_values(day).items() if key != "hour"}
    facts = TemplateFacts(names, report_filter=lake.partition_filter(values))
    athena = clients("athena")
    results = {}
    for name in reporting.REPORT_NAMES:
        execution = run_query(athena, names, _templates().get_template(f"report_{name}.sql").render(fd=facts))
        rows: list[list[str | None]] = []
        pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution["QueryExecutionId"])
        for page in pages:
            rows += [[cell.get("VarCharValue") for cell in row["Data"]] for row in page["ResultSet"]["Rows"]]
        header = [str(cell) for cell in rows[0]] if rows else []
        results[name] = reporting.QueryResult(
            [dict(zip(header, row, strict=True)) for row in rows[1:]],
            int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)),
        )
    return results


def run_query(athena: Any, names: resources.Resources, sql: str) -> dict[str, Any]:
    """Run one query to its end; its QueryExecution (raises if it did not succeed)."""
    query_id = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": names.glue_database},
        WorkGroup=names.workgroup,
        ResultConfiguration={"OutputLocation": names.athena_output_location},
    )["QueryExecutionId"]
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        state = execution["Status"]["State"]
        if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.2)
    if state != "SUCCEEDED":
        raise RuntimeError(f"query {query_id} {state}: {execution['Status'].get('StateChangeReason')}")
    return dict(execution)


def segment_day(clients: Any, names: resources.Resources, day: datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Segment ``day`` (midnight UTC) and publish it; (the flights, what the query cost)."""
    plan = flights.plan(names, day, f"local-{time.time_ns()}", 1)
    started = time.perf_counter()
    execution = run_query(clients("athena"), names, render(names, plan))
    seconds = time.perf_counter() - started
    flights.publish(clients("glue"), clients("s3"), names, plan)
    s3 = clients("s3")
    bucket, _, prefix = plan["staging_location"].removeprefix("s3://").partition("/")
    rows: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            rows += pq.read_table(io.BytesIO(body)).to_pylist()
    statistics = execution.get("Statistics", {})
    return rows, {
        "flights_ctas_seconds": round(seconds, 2),
        "flights_bytes_scanned": int(statistics.get("DataScannedInBytes", 0)),
    }
