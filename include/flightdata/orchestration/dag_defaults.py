"""What every flightdata DAG shares: owner, retries, tags, template search path and macros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset

from flightdata import resources
from flightdata.orchestration import compat, templating
from flightdata.orchestration.templating import TemplateFacts

# The DAG ids, named once: the DAG files, compaction's wait for its minutes and the plugin's
# permission checks read them.
STATE_VECTORS_DAG = "opensky_state_vectors"  # every minute: the state vectors into the lake
COMPACTION_DAG = "opensky_compaction"
REPORT_DAG = "opensky_daily_report"
RETENTION_DAG = "airflow_db_retention"
# How long after its logical date each DAG's run must have finished (deadline alerts, 3.1 and
# later: flightdata.orchestration.deadlines): a minute's snapshot committed within 5 minutes; an
# hour compacted within 45 minutes of its run (which waits up to 30 for the hour's last minutes);
# the day's report within 2 hours.
FRESHNESS = {
    STATE_VECTORS_DAG: timedelta(minutes=5),
    COMPACTION_DAG: timedelta(minutes=45),
    REPORT_DAG: timedelta(hours=2),
}
DEADLINE_CALLBACK = "flightdata.orchestration.deadlines.missed"  # a path: Airflow imports it where it runs

SQL_DIR = str(templating.SQL_DIR)  # the DAGs' template search path
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = "flightdata"

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=2),
}
MACROS = {"fd": TemplateFacts()}


def freshness(dag_id: str) -> dict[str, Any]:
    """The DAG arguments for ``dag_id``'s freshness deadline (none on Airflow 3.0)."""
    return compat.deadline_alert(dag_id, FRESHNESS[dag_id], DEADLINE_CALLBACK)


def lake_asset(name: str, kind: str) -> Asset:
    """The asset of a lake prefix, at the deployment's own bucket (``<prefix>-lake``): the
    prefix comes from the environment, so parsing touches no network."""
    return Asset(name=name, uri=resources.Resources.from_env().table_location(kind))
