"""Freshness deadlines (Airflow 3.1 and later): a minute committed late is a missed deadline in
Airflow's API, and a ``DeadlineMissed`` datum in CloudWatch, which the stack alarms on."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from flightdata.orchestration import compat
from flightdata.orchestration.dag_defaults import FRESHNESS, STATE_VECTORS_DAG

pytestmark = pytest.mark.skipif(not compat.has_deadline_alerts(), reason="Airflow 3.0 has no deadline alerts")


def eventually(probe, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"nothing after {timeout_s:.0f} s")


def test_a_minute_committed_after_its_deadline_is_a_miss_in_airflow_and_in_cloudwatch(shared_stack):
    api, stack = shared_stack.api, shared_stack.stack
    # GIVEN a minute whose snapshot is committed only now, longer after it than its deadline allows
    late = (datetime.now(UTC) - FRESHNESS[STATE_VECTORS_DAG] - timedelta(minutes=3)).replace(second=0, microsecond=0)
    started = datetime.now(UTC)

    # WHEN its run succeeds
    run_id = api.trigger(STATE_VECTORS_DAG, late)
    api.wait(STATE_VECTORS_DAG, run_id)

    # THEN Airflow's API lists the run's deadline as missed
    path = f"{api.url}/ui/dags/{STATE_VECTORS_DAG}/dagRuns/{quote(run_id, safe='')}/deadlines"

    def missed():
        answer = api.session.get(path, timeout=30)
        answer.raise_for_status()
        return [d for d in answer.json()["deadlines"] if d["missed"]]

    (deadline,) = eventually(missed)
    assert datetime.fromisoformat(deadline["deadline_time"]) == late + FRESHNESS[STATE_VECTORS_DAG]

    # AND the callback published the miss for the DAG, where the stack's alarm reads it
    cloudwatch = stack.client("cloudwatch")

    def published():
        stats = cloudwatch.get_metric_statistics(
            Namespace=stack.names.metrics_namespace,
            MetricName="DeadlineMissed",
            Dimensions=[{"Name": "dag_id", "Value": STATE_VECTORS_DAG}],
            StartTime=started - timedelta(minutes=1),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return sum(point["Sum"] for point in stats["Datapoints"])

    assert eventually(published) >= 1
