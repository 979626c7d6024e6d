"""
### opensky_daily_report

Every day: run the reporting queries in Athena (SQL files in *include/flightdata/sql/*:
aircraft by country, altitude bands, flight status, altitude statistics, quality by hour,
busiest hours, on-ground share, completeness) over the previous day (param *day*,
*YYYY-MM-DD*), then write each result as CSV and one self-contained HTML page with charts
to the lake's *reports/date=YYYY-MM-DD/* prefix.
Each query's bytes scanned is recorded in the page.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata import reporting
from flightdata.orchestration import aws, daily_report, links
from flightdata.orchestration.dag_defaults import DEFAULT_ARGS, MACROS, SQL_DIR, START_DATE
from flightdata.orchestration.links import ReportLink
from flightdata.orchestration.queries import athena_query

with DAG(
    dag_id="opensky_daily_report",
    description="Every day: the report queries in Athena, written as CSV and one HTML page under reports/",
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
    def plan(params=None, logical_date=None, dag_run=None) -> dict:
        return daily_report.plan_day(logical_date or dag_run.run_after, params["day"])

    queries = {name: athena_query(f"query_{name}", f"report_{name}.sql") for name in reporting.REPORT_NAMES}

    @task(multiple_outputs=False)
    def publish_report(plan: dict, query_ids: dict) -> dict:
        summary = daily_report.publish(aws.athena(), aws.s3(), aws.names(), plan, query_ids)
        aws.put_metrics(daily_report.reconciliation_metric_data(summary))
        daily_report.skip_if_empty(summary)
        return summary

    planned = plan()
    for query in queries.values():
        planned >> query
    links.attach(publish_report(planned, {name: query.output for name, query in queries.items()}), ReportLink())
