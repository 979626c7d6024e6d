"""An empty TaskFlow DAG: the baseline of dag_parse_ratio."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, task

with DAG(dag_id="empty", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)):

    @task
    def nothing() -> None:
        return None

    nothing()
