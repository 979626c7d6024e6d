"""Every DAG file parses offline, and every DAG follows the house policy."""

from __future__ import annotations

EXPECTED_DAGS = {"opensky_state_vectors", "opensky_compaction", "opensky_daily_report", "airflow_db_retention"}


def test_every_dag_file_parses_without_errors(dagbag):
    assert dagbag.import_errors == {}, "\n".join(f"{f}: {e}" for f, e in dagbag.import_errors.items())
    assert set(dagbag.dag_ids) == EXPECTED_DAGS


def _dags(dagbag):
    return [dagbag.dags[dag_id] for dag_id in sorted(EXPECTED_DAGS)]


def test_every_dag_has_tags_docs_and_no_catchup(dagbag):
    for dag in _dags(dagbag):
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert "flightdata" in dag.tags, f"{dag.dag_id} tags {sorted(dag.tags)} lack 'flightdata'"
        assert (dag.doc_md or "").strip(), f"{dag.dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag.dag_id} catches up; runs would pile up after a pause"
        assert dag.max_active_runs is not None, f"{dag.dag_id} does not bound max_active_runs"
        assert dag.dagrun_timeout is not None, f"{dag.dag_id} has no dagrun_timeout"


def test_every_task_has_an_owner_and_retries(dagbag):
    for dag in _dags(dagbag):
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            owner = getattr(task, "owner", None)
            assert owner, f"{where} has no owner"
            assert owner != "airflow", f"{where} has the default owner 'airflow'"
            retries = getattr(task, "retries", None)
            if task.task_id in {"compact", "cleanup", "segment_flights", "cleanup_flights"}:
                continue  # their failure is handled by the run itself, see the DAGs' docs
            assert retries is not None, f"{where} has no retries setting"
            assert retries >= 2, f"{where} retries {retries} times; the policy is at least 2"
