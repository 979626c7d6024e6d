"""Freshness deadlines: when a DAG run has not finished the time ``dag_defaults.FRESHNESS`` sets
after its logical date, Airflow (3.1 and later) marks its deadline missed, shows it in the UI
and calls ``missed``, which logs the miss and publishes ``DeadlineMissed`` for the DAG (the
stack alarms on any). On Airflow 3.0 there are no deadline alerts (``compat.deadline_alert``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flightdata.orchestration import aws, metrics

log = logging.getLogger(__name__)


def missed(context: dict[str, Any] | None = None, *, dag_id: str, within_s: int) -> None:
    """Airflow's callback for a missed deadline of ``dag_id``'s run (in the context)."""
    run = (context or {}).get("dag_run") or {}
    run_id = run.get("run_id") if isinstance(run, dict) else getattr(run, "run_id", None)
    log.warning(
        "deadline missed: %s run %s had not finished %s after its logical date",
        dag_id,
        run_id or "(unknown run)",
        timedelta(seconds=within_s),
    )
    aws.put_metrics(metrics.deadline_metric_data(dag_id))
