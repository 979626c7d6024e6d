"""
### airflow_db_retention

Every day: remove Airflow's own records (DAG runs, task instances, XComs, logs, jobs, asset
events) older than *keep_days* (default 30) with *airflow db clean*, so the metadata
database does not grow by 1,440 minutely runs a day forever. On MWAA the command goes
through the environment's CLI endpoint (tasks cannot reach the database in Airflow 3);
locally it runs against the local database. The latest scheduled run of every DAG is kept.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from flightdata.orchestration import aws, retention
from flightdata.orchestration.dag_defaults import DEFAULT_ARGS, RETENTION_DAG, START_DATE

with DAG(
    dag_id=RETENTION_DAG,
    description="Remove Airflow metadata older than keep_days with airflow db clean",
    schedule=CronTriggerTimetable("15 3 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=DEFAULT_ARGS,
    params={
        "keep_days": Param(
            retention.DEFAULT_KEEP_DAYS, type="integer", minimum=1, description="days of run history to keep"
        )
    },
    tags=["flightdata", "maintenance"],
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=False)
    def clean_metadata(params=None, logical_date=None) -> dict:
        result = retention.clean(params["keep_days"], logical_date, aws.mwaa)
        return {"before": result.before.isoformat(), "where": result.where}

    clean_metadata()
