"""
### opensky_state_vectors

Every minute: fetch the state of every aircraft from OpenSky (the **ingest** Lambda lands
the raw response in S3), turn it into validated Parquet (the **transform** Lambda writes
*processed/* and *quarantine/*), then add the hour's Glue partitions and publish quality
metrics to CloudWatch. A minute that commits after its hour was compacted (a retry, a
rerun, a cleared task) triggers *opensky_compaction* for that hour again.

Parameters: *regions*, named bounding boxes fetched in parallel (default: one global
region); *credit_reserve*, OpenSky credits never to spend (a minute that would cross it is
skipped, not failed). The *aws_default* connection decides whether this talks to AWS or to
the local endpoint; resource names come from the *flightdata.prefix* setting.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata import resources
from flightdata.orchestration import aws, lambda_calls, lateness, links, metrics, minutely, pacing, partitions
from flightdata.orchestration.dag_defaults import (
    COMPACTION_DAG,
    DEFAULT_ARGS,
    MACROS,
    START_DATE,
    STATE_VECTORS_DAG,
    freshness,
    lake_asset,
)
from flightdata.orchestration.links import DashboardLink
from flightdata.orchestration.operators import REGION_LABEL, SKIPPED_KEY, OpenSkyIngestOperator, TransformOperator

PROCESSED = lake_asset("opensky_processed", resources.PROCESSED)

with DAG(
    dag_id=STATE_VECTORS_DAG,
    **freshness(STATE_VECTORS_DAG),
    description="Every minute: OpenSky state vectors to the lake (raw, processed, quarantine) and quality metrics",
    schedule=CronTriggerTimetable("* * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=3,
    dagrun_timeout=minutely.RUN_TIMEOUT,
    default_args={**DEFAULT_ARGS, "max_retry_delay": timedelta(seconds=40)},
    params={
        "regions": Param(
            minutely.DEFAULT_REGIONS,
            schema=minutely.REGIONS_SCHEMA,
            description=minutely.REGIONS_DESCRIPTION,
        ),
        "credit_reserve": Param(
            minutely.DEFAULT_CREDIT_RESERVE,
            type="integer",
            minimum=0,
            description="OpenSky credits never to spend: a minute that would cross it is skipped, not failed",
        ),
    },
    user_defined_macros=MACROS,
    tags=["flightdata", "opensky", "ingestion"],
    doc_md=__doc__,
) as dag:

    @task
    def plan(params=None, logical_date=None, dag_run=None) -> list[str]:
        minute = minutely.snapshot_minute(logical_date, dag_run.run_after)
        pacing.check_pacing(minute, params["regions"], params["credit_reserve"])
        known = pacing.remembered_credits(minute)
        return lambda_calls.ingestion_payloads(minute, params["regions"], params["credit_reserve"], known)

    ingest = OpenSkyIngestOperator.partial(
        task_id="ingest", function_name="{{ fd.ingestion_function }}", map_index_template=REGION_LABEL
    ).expand(payload=plan())

    @task(trigger_rule="none_failed_min_one_success")
    def transform_payloads(ingested: list[dict]) -> list[str]:
        return [lambda_calls.transform_payload(result) for result in ingested]

    transform = TransformOperator.partial(
        task_id="transform", function_name="{{ fd.transform_function }}", map_index_template=REGION_LABEL
    ).expand(payload=transform_payloads(ingest.output))

    @task(outlets=[PROCESSED])
    def register_partitions(transformed, logical_date=None, dag_run=None, outlet_events=None) -> list[str]:
        minute = minutely.snapshot_minute(logical_date, dag_run.run_after)
        added = partitions.register_partitions(aws.glue(), aws.names(), minute)
        outlet_events[PROCESSED].extra = lambda_calls.committed_extra(minute, transformed)
        return added

    @task(trigger_rule="all_done")  # a skipped or failed region keeps the others' metrics and the credits
    def publish_quality_metrics(ingested, transformed, ti=None) -> int:
        answers = [*ingested, *filter(None, ti.xcom_pull(task_ids=["ingest"], key=SKIPPED_KEY))]
        pacing.remember_credits(answers)
        summaries = lambda_calls.quality_summaries(answers, transformed)
        return aws.put_metrics(metrics.quality_metric_data(summaries) + metrics.credit_metric_data(answers))

    @task.short_circuit
    def committed_after_its_hour(logical_date=None, dag_run=None) -> dict | None:
        return lateness.recompaction(minutely.snapshot_minute(logical_date, dag_run.run_after))

    recompact_hour = TriggerDagRunOperator(
        task_id="recompact_hour",
        trigger_dag_id=COMPACTION_DAG,
        trigger_run_id="{{ ti.xcom_pull(task_ids='committed_after_its_hour')['run_id'] }}",
        conf={"hour": "{{ ti.xcom_pull(task_ids='committed_after_its_hour')['hour'] }}", "wait_for_minutely": True},
        skip_when_already_exists=True,
    )

    register_partitions(transform.output) >> committed_after_its_hour() >> recompact_hour
    links.attach(publish_quality_metrics(ingest.output, transform.output), DashboardLink())
