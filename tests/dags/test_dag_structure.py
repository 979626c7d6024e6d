"""The shape of each DAG: task ids, dependencies, operator classes, parameters."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


def edges(dag) -> set[tuple[str, str]]:
    return {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}


def test_opensky_state_vectors_fans_out_after_the_lambdas(dagbag):
    dag = dagbag.dags["opensky_state_vectors"]

    assert edges(dag) == {
        ("plan", "ingest"),
        ("ingest", "transform_payloads"),
        ("transform_payloads", "transform"),
        ("transform", "register_partitions"),
        ("transform", "publish_quality_metrics"),
        ("ingest", "publish_quality_metrics"),
        ("register_partitions", "committed_after_its_hour"),
        ("committed_after_its_hour", "recompact_hour"),
    }
    assert dag.get_task("recompact_hour").trigger_dag_id == "opensky_compaction"
    assert type(dag.get_task("ingest")).__name__ == "MappedOperator"
    assert dag.get_task("ingest").operator_class.__name__ == "OpenSkyIngestOperator"
    assert dag.get_task("transform").operator_class.__name__ == "TransformOperator"
    for mapped in ("ingest", "transform"):  # labelled by region in the grid, not 0, 1, ...
        assert dag.get_task(mapped).partial_kwargs["map_index_template"] == "{{ region }}"
    assert dag.timetable.summary == "* * * * *"
    assert [o.name for o in dag.get_task("register_partitions").outlets] == ["opensky_processed"]


def test_opensky_compaction_waits_verifies_and_cleans_up(dagbag):
    dag = dagbag.dags["opensky_compaction"]

    assert {
        ("plan", "hour_complete"),
        ("hour_complete", "compact"),
        ("compact", "count_check"),
        ("count_check", "verify"),
        ("verify", "publish"),
        ("plan", "publish"),
        ("publish", "cleanup"),
        ("compact", "cleanup"),
    } <= edges(dag)
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    assert isinstance(dag.get_task("compact"), AthenaOperator)
    # the link that works where the query ran replaces the provider's console-only one
    assert [link.name for link in dag.get_task("compact").operator_extra_links] == ["Athena query"]
    assert dag.get_task("compact").deferrable is True
    assert dag.get_task("cleanup").trigger_rule == "one_failed"


def test_opensky_daily_report_runs_every_report_query(dagbag):
    from flightdata.orchestration.dag_defaults import SQL_DIR
    from flightdata.reporting import REPORT_NAMES

    dag = dagbag.dags["opensky_daily_report"]

    for name in REPORT_NAMES:
        assert ("publish_flights", f"query_{name}") in edges(dag)  # the report reads the day's flights
        assert (f"query_{name}", "publish_report") in edges(dag)
        sql = (Path(SQL_DIR) / f"report_{name}.sql").read_text()
        assert dag.get_task(f"query_{name}").query == sql


def test_opensky_daily_report_segments_flights_before_the_report_and_cleans_up_on_failure(dagbag):
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    from flightdata.orchestration.dag_defaults import SQL_DIR

    dag = dagbag.dags["opensky_daily_report"]
    segment = dag.get_task("segment_flights")

    assert ("plan", "segment_flights") in edges(dag)
    # the staged day is checked before it is published, and a failed check cleans up
    assert {("segment_flights", "check_flights"), ("check_flights", "verify_flights")} <= edges(dag)
    assert ("verify_flights", "publish_flights") in edges(dag)
    assert isinstance(dag.get_task("check_flights"), AthenaOperator)
    assert dag.get_task("check_flights").deferrable is True
    assert isinstance(segment, AthenaOperator)
    assert segment.deferrable is True
    assert segment.retries == 0  # a retry would find its staging table taken; the DAG run is the retry
    assert segment.query == (Path(SQL_DIR) / "flights_day.sql").read_text()
    assert dag.get_task("cleanup_flights").trigger_rule == "one_failed"
    assert {
        (task, "cleanup_flights") for task in ("segment_flights", "check_flights", "verify_flights", "publish_flights")
    } <= edges(dag)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([{"name": "europe", "bbox": {"lamin": 95, "lomin": 0, "lamax": 96, "lomax": 10}}], "95"),
        ([{"name": "Europe West"}], "Europe West"),
        ([{"name": "europe\n"}], "europe"),  # '$' alone lets a final newline through
        ([{"label": "x"}], "name"),
        ([], "regions"),
    ],
)
def test_bad_regions_fail_at_trigger_time_naming_the_field(dagbag, value, message):
    from airflow.exceptions import ParamValidationError

    params = copy.deepcopy(dagbag.dags["opensky_state_vectors"].params)

    def trigger_with(regions):
        params["regions"] = regions
        return params.validate()

    with pytest.raises(ParamValidationError, match="regions") as error:
        trigger_with(value)
    assert message in str(error.value)


def test_named_boxes_are_accepted(dagbag):
    params = copy.deepcopy(dagbag.dags["opensky_state_vectors"].params)
    params["regions"] = [
        {"name": "europe", "bbox": {"lamin": 35, "lomin": -10, "lamax": 60, "lomax": 30}},
        {"name": "us_east", "bbox": {"lamin": 25, "lomin": -85, "lamax": 45, "lomax": -65}},
    ]

    assert params.validate()["regions"][1]["name"] == "us_east"


def test_no_task_splits_its_return_value_into_one_xcom_per_key(dagbag):
    """A TaskFlow task annotated ``-> dict`` pushes each key as its own XCom. Airflow 3.0.6's
    execution API answers 422 'Field required' to a key whose value is None (apache/airflow
    #55062): compaction's publish failed so when its hour had no previous location."""
    split = [
        f"{dag_id}.{task.task_id}"
        for dag_id, dag in dagbag.dags.items()
        for task in dag.tasks
        if getattr(task, "multiple_outputs", False)
    ]
    assert split == [], f"set multiple_outputs=False on {split}: a None value among the keys fails the push"


def test_every_dag_says_what_it_does_and_its_assets_name_the_real_bucket(dagbag):
    from flightdata.resources import Resources

    bucket = Resources.from_env().lake_bucket
    for dag in dagbag.dags.values():
        assert dag.description, f"{dag.dag_id} has no description for the DAG list"
    flights, compaction = dagbag.dags["opensky_state_vectors"], dagbag.dags["opensky_compaction"]
    assert [o.uri for o in flights.get_task("register_partitions").outlets] == [
        f"s3://{bucket}/processed"
    ]  # Airflow drops the final slash
    assert [o.uri for o in compaction.get_task("publish").outlets] == [f"s3://{bucket}/curated"]
    assert "skipped, not failed" in flights.params.get_param("credit_reserve").description


def test_every_param_has_a_description_and_regions_shows_its_shape(dagbag):
    """The trigger form shows each param's description; the regions one shows a valid box."""
    import jsonschema

    from flightdata.orchestration import minutely

    for dag in dagbag.dags.values():
        for name in dag.params:
            assert dag.params.get_param(name).description, f"{dag.dag_id}.{name} has no description"
    regions = dagbag.dags["opensky_state_vectors"].params.get_param("regions")
    assert json.dumps(minutely.EXAMPLE_REGIONS[0]) in regions.description
    jsonschema.validate(minutely.EXAMPLE_REGIONS, regions.schema)


def test_tasks_link_to_what_they_wrote_or_ran(dagbag):
    def link_names(dag_id: str, task_id: str) -> list[str]:
        return [link.name for link in dagbag.dags[dag_id].get_task(task_id).operator_extra_links]

    assert link_names("opensky_state_vectors", "ingest") == ["Raw snapshot"]
    assert link_names("opensky_state_vectors", "transform") == ["Objects written"]
    assert link_names("opensky_state_vectors", "publish_quality_metrics") == ["Quality dashboard"]
    assert link_names("opensky_daily_report", "publish_report") == ["Report"]
    assert link_names("opensky_daily_report", "query_aircraft_by_country") == ["Athena query"]


def test_each_pipeline_dag_has_its_freshness_deadline_where_airflow_has_them(dagbag):
    import importlib

    from flightdata.orchestration import compat, deadlines
    from flightdata.orchestration.dag_defaults import DEADLINE_CALLBACK, FRESHNESS

    module, name = DEADLINE_CALLBACK.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is deadlines.missed
    for dag_id, within in FRESHNESS.items():
        alerts = getattr(dagbag.dags[dag_id], "deadline", None)
        if not compat.has_deadline_alerts():
            assert not alerts  # Airflow 3.0: none
            continue
        (alert,) = alerts if isinstance(alerts, list) else [alerts]
        assert alert.interval == within
        assert alert.callback.path == DEADLINE_CALLBACK
        assert alert.callback.kwargs == {"dag_id": dag_id, "within_s": int(within.total_seconds())}
