"""The shape of opensky_state_vectors with tasks that do nothing: the baseline of tick_overhead_ratio."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import DAG, task

with DAG(dag_id="noop_state_vectors", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False):

    @task
    def plan() -> list[str]:
        return ["{}"]

    @task
    def ingest(payload: str) -> str:
        return payload

    @task
    def transform_payloads(ingested) -> list[str]:
        return list(ingested)

    @task
    def transform(payload: str) -> str:
        return payload

    @task
    def register_partitions() -> None:
        return None

    @task
    def publish_quality_metrics(ingested, transformed) -> None:
        return None

    ingested = ingest.expand(payload=plan())
    transformed = transform.expand(payload=transform_payloads(ingested))
    transformed >> register_partitions()
    publish_quality_metrics(ingested, transformed)
