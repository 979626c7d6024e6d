"""``airflow dags test``, the command the README gives for running a DAG on a laptop, on a
stack with no Airflow component running (no DAG processor has registered anything)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flightdata_local.services import local_services


def test_airflow_dags_test_runs_a_minute_with_its_asset_on_a_fresh_stack(tmp_path):
    """register_partitions has an asset outlet; on a database no DAG processor had filled,
    the task failed: 'Task has the following inactive assets in its inlets or outlets'."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=6, minutes=7)

    with local_services(tmp_path / "stack") as stack:
        log = stack.run_dag("opensky_state_vectors", minute)  # raises with the log's tail unless it succeeds

    text = log.read_text(errors="replace")
    assert "register_partitions" in text
    assert "inactive assets" not in text
