"""
### opensky_compaction

Every hour: rewrite the previous hour's minutely Parquet files as a few large files in the
curated table (*curated_hourly*), sorted by *icao24*, *snapshot_time*, so reports scan less.

1. **plan** picks the hour (param *hour*, *YYYY-MM-DDTHH*, else the previous hour) and a
   staging table and location unique to this run.
2. **hour_complete** waits until the hour has ended (plus the minutely runs' 3-minute
   timeout) and none of its minutely runs is queued or running; its log names the minutes
   it waits for (param *wait_for_minutely*). Minutes that never ran do not hold it up. An
   hour with no committed snapshot is skipped.
3. **compact** runs the CTAS over the committed snapshots in Athena (deferred: the
   triggerer waits, not a worker).
4. **count_check** / **verify** compare the compacted rows with the committed minutely rows
   and run the curated table's data checks (*flightdata.checks*: no null keys, one row per
   aircraft, region and minute, every minute inside the hour).
5. **publish** points the hour's partition at the new files, records the hour's
   completeness (minutes present / 60) in its parameters and in CloudWatch, and deletes the
   old files.

If anything fails, **cleanup** removes what this run staged and fails the run: the curated
hour stays as it was. Rerunning an hour leaves exactly one copy of every row.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, PokeReturnValue, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata import resources
from flightdata.orchestration import aws, compaction, metrics
from flightdata.orchestration.compat import AirflowFailException, AirflowSkipException
from flightdata.orchestration.dag_defaults import (
    COMPACTION_DAG,
    DEFAULT_ARGS,
    MACROS,
    SQL_DIR,
    START_DATE,
    freshness,
    lake_asset,
)
from flightdata.orchestration.queries import athena_query, result_rows

CURATED = lake_asset("opensky_curated_hourly", resources.CURATED)

with DAG(
    dag_id=COMPACTION_DAG,
    **freshness(COMPACTION_DAG),
    description="Every hour: the previous hour's committed minutes compacted into curated Parquet with Athena",
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
        hour = compaction.hour_to_compact(logical_date, params["hour"])
        return compaction.plan(aws.names(), hour, run_id, ti.try_number)

    # First pokes soon (a late minute's recompaction starts while that minute's run is still
    # running), then back off to once a minute.
    @task.sensor(
        poke_interval=10, exponential_backoff=True, max_wait=timedelta(seconds=60), timeout=1800, mode="reschedule"
    )
    def hour_complete(plan: dict, params=None, ti=None) -> PokeReturnValue:
        try:
            hour = compaction.planned_hour(plan)
            found = compaction.check_hour(ti, aws.s3(), aws.names(), hour, params["wait_for_minutely"])
        except compaction.EmptyHour as empty:
            raise AirflowSkipException(str(empty)) from None
        return PokeReturnValue(is_done=found is not None, xcom_value=found)

    compact = athena_query("compact", "compact_hour.sql", retries=0)
    count_check = athena_query("count_check", "check_compacted_hour.sql")

    @task(multiple_outputs=False)
    def verify(plan: dict, query_id: str) -> dict:
        return compaction.check_counts(plan, result_rows(aws.athena(), query_id)[0])

    @task(outlets=[CURATED], multiple_outputs=False)
    def publish(plan: dict, counts: dict) -> dict:
        published = compaction.publish(aws.glue(), aws.s3(), aws.names(), plan, counts)
        aws.put_metrics(metrics.hour_metric_data(compaction.planned_hour(plan), counts))
        return published

    @task(trigger_rule="one_failed", retries=0)
    def cleanup(plan: dict) -> None:
        removed = compaction.discard(aws.glue(), aws.s3(), aws.names(), plan)
        raise AirflowFailException(f"compaction of {plan['hour']} failed; removed {removed} staged objects")

    planned = plan()
    checked = verify(planned, count_check.output)
    published = publish(planned, checked)
    hour_complete(planned) >> compact >> count_check
    [compact, count_check, checked, published] >> cleanup(planned)
