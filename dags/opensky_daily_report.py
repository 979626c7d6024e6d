"""
### opensky_daily_report

Every day at 06:30 UTC, for the day before (param *day*, *YYYY-MM-DD*):

1. **segment_flights** turns the day's curated state vectors into the *flights* table, one
   row per flight with its estimated departure and arrival airports (Athena CTAS of
   *include/flightdata/sql/flights_day.sql*, deferred). A flight belongs to the day it took
   off; the six hours after the day let flights that cross midnight end where they landed,
   which is why the report runs at 06:30.
2. **check_flights** / **verify_flights** run the *flights* table's data checks on the
   staged day (*flightdata.checks*: no null keys, one flight per aircraft and takeoff, the
   takeoff inside the day, airports found in the *airports* table).
3. **publish_flights** points the day's *flights* partition at this run's files and removes
   the previous run's: a rerun leaves one copy of each flight. If any of these steps fails,
   **cleanup_flights** removes what the run staged.
4. The report queries (*include/flightdata/sql/report_NAME.sql*) run in Athena: flights per
   hour, busiest airports, top routes, flights by origin country, flight status, altitude,
   quality and reconciliation, and the density of positions for the map.
5. **publish_report** writes each result as CSV and one self-contained HTML page (inline
   SVG charts and map, each with the bytes its query scanned) to *reports/date=YYYY-MM-DD/*.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata import reporting, resources
from flightdata.orchestration import aws, daily_report, flights, links, metrics
from flightdata.orchestration.compat import AirflowFailException
from flightdata.orchestration.dag_defaults import (
    DEFAULT_ARGS,
    MACROS,
    REPORT_DAG,
    SQL_DIR,
    START_DATE,
    freshness,
    lake_asset,
)
from flightdata.orchestration.links import ReportLink
from flightdata.orchestration.queries import athena_query, result_rows

FLIGHTS = lake_asset("opensky_flights_daily", resources.FLIGHTS)

with DAG(
    dag_id=REPORT_DAG,
    **freshness(REPORT_DAG),
    description="Every day: flights segmented in Athena, then the report queries, as CSV and one HTML page",
    schedule=CronTriggerTimetable("30 6 * * *", timezone="UTC"),
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
    def plan(params=None, logical_date=None, dag_run=None, run_id=None, ti=None) -> dict:
        when = logical_date or dag_run.run_after
        return daily_report.plan(aws.names(), when, params["day"], run_id, ti.try_number)

    segment_flights = athena_query("segment_flights", "flights_day.sql", retries=0)
    check_flights = athena_query("check_flights", "check_flights_day.sql")

    @task(multiple_outputs=False)
    def verify_flights(plan: dict, query_id: str) -> dict:
        return flights.verify(aws.names(), plan["flights"], result_rows(aws.athena(), query_id)[0])

    @task(outlets=[FLIGHTS], multiple_outputs=False)
    def publish_flights(plan: dict) -> dict:
        return flights.publish(aws.glue(), aws.s3(), aws.names(), plan["flights"])

    @task(trigger_rule="one_failed", retries=0)
    def cleanup_flights(plan: dict) -> None:
        removed = flights.discard(aws.glue(), aws.s3(), aws.names(), plan["flights"])
        raise AirflowFailException(f"segmenting flights of {plan['day']} failed; removed {removed} staged objects")

    queries = {name: athena_query(f"query_{name}", f"report_{name}.sql") for name in reporting.REPORT_NAMES}

    @task(multiple_outputs=False)
    def publish_report(plan: dict, query_ids: dict) -> dict:
        summary = daily_report.publish(aws.athena(), aws.s3(), aws.names(), plan, query_ids)
        aws.put_metrics(metrics.reconciliation_metric_data(summary))
        daily_report.skip_if_empty(summary)
        return summary

    planned = plan()
    verified = verify_flights(planned, check_flights.output)
    published = publish_flights(planned)
    planned >> segment_flights >> check_flights
    verified >> published
    [segment_flights, check_flights, verified, published] >> cleanup_flights(planned)
    for query in queries.values():
        published >> query
    links.attach(publish_report(planned, {name: query.output for name, query in queries.items()}), ReportLink())
