"""
### opensky_compaction

Every hour: rewrite the previous hour's minutely Parquet files as a few large files in the
curated table (`curated_hourly`), sorted by `icao24`, `snapshot_time`, so reports scan less.

1. **plan** picks the hour (param `hour`, `YYYY-MM-DDTHH`, else the previous hour) and a
   staging table and location unique to this run.
2. **hour_complete** waits until the hour has ended (plus the minutely runs' 3-minute
   timeout) and none of its minutely runs is queued or running; its log names the minutes
   it waits for (param `wait_for_minutely`). Minutes that never ran do not hold it up. An
   hour with no committed snapshot is skipped.
3. **compact** runs the CTAS over the committed snapshots in Athena (deferred: the
   triggerer waits, not a worker).
4. **count_check** / **verify** compare the compacted rows with the committed minutely rows.
5. **publish** points the hour's partition at the new files, records the hour's
   completeness (minutes present / 60) in its parameters and in CloudWatch, and deletes the
   old files.

If anything fails, **cleanup** removes what this run staged and fails the run: the curated
hour stays as it was. Rerunning an hour leaves exactly one copy of every row.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.sdk import DAG, Asset, Param, PokeReturnValue, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata.orchestration import compaction
from flightdata.orchestration.athena import result_rows
from flightdata.orchestration.dag_defaults import AWS_CONN_ID, DEFAULT_ARGS, MACROS, SQL_DIR, START_DATE

CURATED = Asset(name="opensky_curated_hourly", uri="s3://flightdata-lake/curated/")
ATHENA = {
    "database": "{{ fd.glue_database }}",
    "workgroup": "{{ fd.workgroup }}",
    "output_location": "{{ fd.athena_output_location }}",
    "aws_conn_id": AWS_CONN_ID,
    "deferrable": True,
    "sleep_time": 5,
}

with DAG(
    dag_id="opensky_compaction",
    schedule=CronTriggerTimetable("5 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    default_args=DEFAULT_ARGS,
    params={
        "hour": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}$", description="YYYY-MM-DDTHH"),
        "wait_for_minutely": Param(True, type="boolean", description="wait for the hour's minutely runs"),
    },
    template_searchpath=[SQL_DIR],
    user_defined_macros=MACROS,
    tags=["flightdata", "athena", "compaction"],
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=False)
    def plan(params=None, logical_date=None, run_id=None, ti=None) -> dict:
        from flightdata.resources import Resources

        hour = compaction.hour_to_compact(logical_date, params["hour"])
        return compaction.plan(Resources.from_env(), hour, run_id, ti.try_number)

    @task.sensor(poke_interval=60, timeout=1800, mode="reschedule")
    def hour_complete(plan: dict, params=None, ti=None) -> PokeReturnValue:
        from datetime import datetime

        from flightdata.resources import Resources

        s3 = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="s3").get_conn()
        hour, wait = datetime.fromisoformat(plan["hour"]), params["wait_for_minutely"]
        try:
            found = compaction.check_hour(ti, s3, Resources.from_env(), hour, wait)
        except compaction.EmptyHour as empty:
            raise AirflowSkipException(str(empty)) from None
        return PokeReturnValue(is_done=found is not None, xcom_value=found)

    compact = AthenaOperator(task_id="compact", query="compact_hour.sql", retries=0, **ATHENA)
    count_check = AthenaOperator(task_id="count_check", query="check_compacted_hour.sql", **ATHENA)

    @task(multiple_outputs=False)
    def verify(query_id: str) -> dict:
        return compaction.check_counts(result_rows(AthenaHook(aws_conn_id=AWS_CONN_ID), query_id)[0])

    @task(outlets=[CURATED], multiple_outputs=False)
    def publish(plan: dict, counts: dict) -> dict:
        from datetime import datetime

        from flightdata.resources import Resources

        names = Resources.from_env()
        glue = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="glue").get_conn()
        s3 = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="s3").get_conn()
        published = compaction.publish(glue, s3, names, plan, counts)
        cloudwatch = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="cloudwatch").get_conn()
        metrics = compaction.hour_metric_data(datetime.fromisoformat(plan["hour"]), counts)
        cloudwatch.put_metric_data(Namespace=names.metrics_namespace, MetricData=metrics)
        return published

    @task(trigger_rule="one_failed", retries=0)
    def cleanup(plan: dict) -> None:
        from flightdata.resources import Resources

        glue = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="glue").get_conn()
        s3 = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="s3").get_conn()
        removed = compaction.discard(glue, s3, Resources.from_env(), plan)
        raise AirflowFailException(f"compaction of {plan['hour']} failed; removed {removed} staged objects")

    planned = plan()
    checked = verify(count_check.output)
    published = publish(planned, checked)
    hour_complete(planned) >> compact >> count_check
    [compact, count_check, checked, published] >> cleanup(planned)
