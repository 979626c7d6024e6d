"""
### opensky_daily_report

Every day: run the reporting queries in Athena (SQL files in `include/flightdata/sql/`:
aircraft by country, altitude bands, quality by hour, busiest hours, on-ground share) over
the previous day (param `day`, `YYYY-MM-DD`), then write each result as CSV and one
self-contained HTML page with charts to the lake's `reports/date=YYYY-MM-DD/` prefix.
Each query's bytes scanned is recorded in the page.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.sdk import DAG, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata import reporting
from flightdata.orchestration.dag_defaults import AWS_CONN_ID, DEFAULT_ARGS, MACROS, SQL_DIR, START_DATE

with DAG(
    dag_id="opensky_daily_report",
    schedule=CronTriggerTimetable("30 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=DEFAULT_ARGS,
    params={"day": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")},
    template_searchpath=[SQL_DIR],
    user_defined_macros=MACROS,
    tags=["flightdata", "athena", "reporting"],
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=False)
    def plan(params=None, logical_date=None) -> dict:
        from flightdata.orchestration.report import plan_day

        return plan_day(logical_date, params["day"])

    queries = {
        name: AthenaOperator(
            task_id=f"query_{name}",
            query=f"report_{name}.sql",
            database="{{ fd.glue_database }}",
            workgroup="{{ fd.workgroup }}",
            output_location="{{ fd.athena_output_location }}",
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            sleep_time=5,
        )
        for name in reporting.REPORT_NAMES
    }

    @task(multiple_outputs=False)
    def publish_report(plan: dict, query_ids: dict) -> dict:
        from flightdata.orchestration.report import publish, reconciliation_metric_data
        from flightdata.resources import Resources

        names = Resources.from_env()
        athena = AthenaHook(aws_conn_id=AWS_CONN_ID)
        s3 = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="s3").get_conn()
        summary = publish(athena, s3, names, plan, query_ids)
        cloudwatch = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="cloudwatch").get_conn()
        cloudwatch.put_metric_data(Namespace=names.metrics_namespace, MetricData=reconciliation_metric_data(summary))
        return summary

    planned = plan()
    for query in queries.values():
        planned >> query
    publish_report(planned, {name: query.output for name, query in queries.items()})
