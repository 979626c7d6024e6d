"""What every flightdata DAG shares: owner, retries, tags, template search path and macros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset

from flightdata import resources
from flightdata.orchestration import templating
from flightdata.orchestration.templating import TemplateFacts

# The DAG ids, named once: the DAG files, compaction's wait for its minutes and the plugin's
# permission checks read them.
STATE_VECTORS_DAG = "opensky_state_vectors"  # every minute: the state vectors into the lake
COMPACTION_DAG = "opensky_compaction"
REPORT_DAG = "opensky_daily_report"
RETENTION_DAG = "airflow_db_retention"

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


def lake_asset(name: str, kind: str) -> Asset:
    """The asset of a lake prefix, at the deployment's own bucket (``<prefix>-lake``): the
    prefix comes from the environment, so parsing touches no network."""
    return Asset(name=name, uri=resources.Resources.from_env().table_location(kind))
