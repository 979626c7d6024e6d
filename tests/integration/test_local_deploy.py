"""The project's own resources on the local endpoint, and both Lambdas run there for real."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flightdata.reporting import REPORT_NAMES
from flightdata.resources import Resources
from flightdata_local import query
from flightdata_local.provision import provision

NAMES = Resources("flightdata-it")


@pytest.fixture
def deployed(aws, local_aws, opensky_sim):
    return provision(local_aws.url, NAMES, opensky_sim.url, "eu-west-1", local_aws.app.key)


def test_deploy_creates_the_shared_description_and_is_idempotent(deployed, aws, local_aws, opensky_sim):
    again = provision(local_aws.url, NAMES, opensky_sim.url, "eu-west-1", local_aws.app.key)

    assert again == deployed
    assert {NAMES.lake_bucket, NAMES.athena_results_bucket} <= {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    tables = aws("glue").get_tables(DatabaseName=NAMES.glue_database)["TableList"]
    assert sorted(t["Name"] for t in tables) == sorted(NAMES.tables.values())
    processed = next(t for t in tables if t["Name"] == "processed")
    assert [k["Name"] for k in processed["PartitionKeys"]] == ["year", "month", "day", "hour"]
    functions = {f["FunctionName"]: f for f in aws("lambda").list_functions()["Functions"]}
    assert functions[NAMES.ingestion_function]["Handler"] == "flightdata.lambdas.ingestion.handler"
    assert functions[NAMES.transform_function]["DeadLetterConfig"]["TargetArn"].endswith(NAMES.dead_letter_queue)
    athena = aws("athena")
    query_ids = athena.list_named_queries(WorkGroup=NAMES.workgroup)["NamedQueryIds"]
    assert len(query_ids) == len(REPORT_NAMES)  # once each, though deploy ran twice


def test_ingestion_then_etl_run_on_the_endpoint(deployed, aws):
    lam, s3 = aws("lambda"), aws("s3")
    minute = (datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)).isoformat()

    ingest = lam.invoke(FunctionName=NAMES.ingestion_function, Payload=json.dumps({"snapshot_time": minute}))
    landed = json.loads(ingest["Payload"].read())
    assert "FunctionError" not in ingest, landed
    etl = lam.invoke(
        FunctionName=NAMES.transform_function,
        Payload=json.dumps({"raw_key": landed["raw_key"], "snapshot_time": landed["snapshot_time"]}),
    )
    summary = json.loads(etl["Payload"].read())

    assert "FunctionError" not in etl, summary
    assert summary["records"] == landed["records"] == summary["valid"] + summary["quarantined"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=NAMES.lake_bucket)["Contents"]}
    assert set(summary["keys"].values()) <= keys
    assert landed["raw_key"] in keys


def test_a_bad_event_fails_the_invocation_with_the_field_named(deployed, aws):
    event = {"raw_key": "x", "snapshot_time": "2026-01-01T00:00:00Z"}  # a key outside raw/
    response = aws("lambda").invoke(FunctionName=NAMES.transform_function, Payload=json.dumps(event))

    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "InvalidEventError"
    assert "'raw_key'" in error["errorMessage"]


def finished(athena, sql: str) -> tuple[str, dict]:
    """Run ``sql`` in the project's database and work group; its id and final status."""
    execution = query.finish(athena, sql, NAMES.glue_database, NAMES.workgroup)
    return execution["QueryExecutionId"], execution["Status"]


def test_the_raw_table_exists_but_is_only_queryable_on_aws(deployed, aws):
    raw = aws("glue").get_table(DatabaseName=NAMES.glue_database, Name="raw_snapshots")["Table"]

    assert raw["Parameters"]["projection.enabled"] == "true"
    _, status = finished(aws("athena"), "SELECT count(*) FROM raw_snapshots")
    assert status["State"] == "FAILED"
    assert "reads Parquet tables only" in status["StateChangeReason"]


def test_the_airports_reference_table_answers_in_athena(deployed, aws):
    athena = aws("athena")
    query_id, status = finished(
        athena,
        "SELECT iata, name, country, elevation_ft, round(latitude, 2), "
        "(SELECT count(*) FROM airports) FROM airports WHERE icao = 'EGLL'",
    )
    assert status["State"] == "SUCCEEDED", status
    iata, name, country, elevation, latitude, total = query.rows(athena, query_id)[0].values()
    assert (iata, name, country, elevation, latitude) == ("LHR", "London Heathrow Airport", "GB", "83", "51.47")
    assert 15_000 < int(total) < 20_000
    table = aws("glue").get_table(DatabaseName=NAMES.glue_database, Name="airports")["Table"]
    assert table["PartitionKeys"] == []
