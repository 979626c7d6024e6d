"""Athena on the local endpoint, checked with plain boto3 and the Amazon provider's operators."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdata_local import query

BUCKET = "athena-contract"
OUTPUT = f"s3://{BUCKET}/results/"


def run_query(athena, sql: str, database: str, output: str | None = OUTPUT) -> dict:
    return query.finish(athena, sql, database, output=output, timeout_s=60)


def rows(athena, query_id: str, **kwargs) -> list[list[str | None]]:
    result = athena.get_query_results(QueryExecutionId=query_id, **kwargs)["ResultSet"]["Rows"]
    return [[cell.get("VarCharValue") for cell in row["Data"]] for row in result]


async def first_event(trigger):
    """What the triggerer would hand back to the deferred operator."""
    events = trigger.run()
    try:
        return await anext(events)
    finally:
        await events.aclose()


def put_parquet(s3, key: str, table: pa.Table) -> int:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.put_object(Bucket=BUCKET, Key=key, Body=sink.getvalue())
    return len(sink.getvalue())


@pytest.fixture
def lake(aws):
    """A database with a table `flights` partitioned by hour; hours 00 and 01 registered, 02 not."""
    s3, glue, athena = aws("s3"), aws("glue"), aws("athena")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    database = f"contract_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    location = f"s3://{BUCKET}/{database}/flights/"
    sizes = {}
    for hour, countries in {"00": ["US", "US", "DE"], "01": ["FR", "US"], "02": ["XX"] * 5}.items():
        table = pa.table(
            {
                "icao24": [f"{hour}{i:04x}" for i in range(len(countries))],
                "origin_country": countries,
                "altitude_ft": [1000.0 * (i + 1) for i in range(len(countries))],
            }
        )
        sizes[hour] = put_parquet(s3, f"{database}/flights/hour={hour}/part-0.parquet", table)
    create = run_query(
        athena,
        f"CREATE EXTERNAL TABLE flights (icao24 string, origin_country string, altitude_ft double) "
        f"PARTITIONED BY (hour string) STORED AS PARQUET LOCATION '{location}'",
        database,
    )
    assert create["Status"]["State"] == "SUCCEEDED", create["Status"]
    for hour in ("00", "01"):
        added = run_query(athena, f"ALTER TABLE flights ADD IF NOT EXISTS PARTITION (hour='{hour}')", database)
        assert added["Status"]["State"] == "SUCCEEDED", added["Status"]
    return {"database": database, "athena": athena, "s3": s3, "glue": glue, "sizes": sizes, "location": location}


def test_select_sees_only_registered_partitions(lake):
    execution = run_query(
        lake["athena"],
        "SELECT origin_country, count(*) AS flights FROM flights GROUP BY origin_country ORDER BY flights DESC, 1",
        lake["database"],
    )

    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert rows(lake["athena"], execution["QueryExecutionId"]) == [
        ["origin_country", "flights"],
        ["US", "3"],
        ["DE", "1"],
        ["FR", "1"],
    ]
    assert execution["Statistics"]["DataScannedInBytes"] == lake["sizes"]["00"] + lake["sizes"]["01"]
    assert execution["Statistics"]["EngineExecutionTimeInMillis"] >= 0


def test_partition_filters_prune_the_files_read(lake):
    execution = run_query(lake["athena"], "SELECT count(*) FROM flights WHERE hour = '01'", lake["database"])

    assert rows(lake["athena"], execution["QueryExecutionId"])[1] == ["2"]
    assert execution["Statistics"]["DataScannedInBytes"] == lake["sizes"]["01"]


def test_results_are_paginated_with_column_info_and_written_as_csv(lake):
    athena = lake["athena"]
    execution = run_query(athena, "SELECT icao24, altitude_ft FROM flights ORDER BY icao24", lake["database"])
    query_id = execution["QueryExecutionId"]

    first = athena.get_query_results(QueryExecutionId=query_id, MaxResults=2)
    second = athena.get_query_results(QueryExecutionId=query_id, MaxResults=2, NextToken=first["NextToken"])
    columns = first["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in columns] == [("icao24", "varchar"), ("altitude_ft", "double")]
    assert len(first["ResultSet"]["Rows"]) == 2
    assert len(second["ResultSet"]["Rows"]) == 2
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"
    csv_text = lake["s3"].get_object(Bucket=BUCKET, Key=f"results/{query_id}.csv")["Body"].read().decode()
    assert csv_text.splitlines()[:2] == ['"icao24","altitude_ft"', '"000000","1000.0"']


def test_ctas_writes_partitioned_parquet_and_registers_it(lake):
    athena, database = lake["athena"], lake["database"]
    target = f"s3://{BUCKET}/{database}/by_country/"
    sql = (
        f"CREATE TABLE by_country WITH (format = 'PARQUET', external_location = '{target}', "
        "partitioned_by = ARRAY['hour'], write_compression = 'ZSTD') AS "
        "SELECT icao24, origin_country, hour FROM flights ORDER BY icao24"
    )

    created = run_query(athena, sql, database)
    again = run_query(athena, sql.replace("by_country WITH", "by_country_2 WITH"), database)

    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    partitions = lake["glue"].get_partitions(DatabaseName=database, TableName="by_country")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["00", "01"]
    counted = run_query(athena, "SELECT hour, count(*) FROM by_country GROUP BY hour ORDER BY hour", database)
    assert rows(athena, counted["QueryExecutionId"])[1:] == [["00", "3"], ["01", "2"]]
    assert again["Status"]["State"] == "FAILED"
    assert again["Status"]["StateChangeReason"].startswith("HIVE_PATH_ALREADY_EXISTS")


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ("write_compression = 'ZSTD', compression_level = 9", None),
        ("write_compression = 'GZIP', compression_level = 9", "supported for ZSTD compression only"),
        ("write_compression = 'ZSTD', compression_level = 23", "between 1 and 22"),
    ],
)
def test_ctas_takes_athenas_zstd_compression_level(lake, properties, reason):
    athena, database = lake["athena"], lake["database"]
    name = f"levelled_{uuid.uuid4().hex[:6]}"
    sql = (
        f"CREATE TABLE {name} WITH (format = 'PARQUET', external_location = 's3://{BUCKET}/{database}/{name}/', "
        f"{properties}) AS SELECT icao24 FROM flights"
    )

    execution = run_query(athena, sql, database)

    if reason is None:
        assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    else:
        assert execution["Status"]["State"] == "FAILED"
        assert reason in execution["Status"]["StateChangeReason"]


def test_insert_into_adds_partitions(lake):
    athena, database = lake["athena"], lake["database"]

    inserted = run_query(athena, "INSERT INTO flights SELECT 'abc001', 'IE', 500.0, '07'", database)

    assert inserted["Status"]["State"] == "SUCCEEDED", inserted["Status"]
    counted = run_query(athena, "SELECT count(*) FROM flights WHERE hour = '07'", database)
    assert rows(athena, counted["QueryExecutionId"])[1] == ["1"]


def test_drop_table_removes_it_from_the_catalog(lake):
    athena, database = lake["athena"], lake["database"]

    dropped = run_query(athena, "DROP TABLE flights", database)
    after = run_query(athena, "SELECT count(*) FROM flights", database)

    assert dropped["Status"]["State"] == "SUCCEEDED"
    assert after["Status"]["State"] == "FAILED"
    assert "TABLE_NOT_FOUND" in after["Status"]["StateChangeReason"]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT nope FROM flights", "nope"),
        ("SELEC 1", "line 1:1"),
        ("SELECT 1; SELECT 2", "Only one sql statement"),
        ("SHOW TABLES", "not supported"),
    ],
)
def test_bad_sql_fails_with_a_reason(lake, sql, reason):
    execution = run_query(lake["athena"], sql, lake["database"])

    assert execution["Status"]["State"] == "FAILED"
    assert reason in execution["Status"]["StateChangeReason"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM UNNEST(sequence(1, 200000000)) AS t(x)",
        "SELECT cardinality(sequence(timestamp '2026-01-01 00:00', timestamp '2026-03-01 00:00', interval '1' minute))",
    ],
)
def test_a_sequence_past_athenas_10000_entries_fails_as_it_does_on_athena(lake, sql):
    """It ran for over 4 minutes at 18 GB; Athena refuses it at once."""
    started = time.monotonic()
    execution = run_query(lake["athena"], sql, lake["database"])

    assert execution["Status"]["State"] == "FAILED"
    assert "sequence function must not have more than 10000 entries" in execution["Status"]["StateChangeReason"]
    assert time.monotonic() - started < 30


def test_a_sequence_within_the_limit_runs(lake):
    execution = run_query(
        lake["athena"],
        "SELECT cardinality(sequence(1, 10000)), "
        "cardinality(sequence(timestamp '2026-01-01 00:00', timestamp '2026-01-02 00:00', interval '1' minute))",
        lake["database"],
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert rows(lake["athena"], execution["QueryExecutionId"])[1] == ["10000", "1441"]


def test_count_if_over_no_rows_is_zero_as_on_athena(lake):
    """Trino's count_if counts from 0; DuckDB's gave null over no rows, and an empty day's
    data checks then read as checks that gave no result."""
    execution = run_query(
        lake["athena"],
        "SELECT 'none' AS hours, count_if(origin_country = 'US') AS us FROM flights WHERE hour = '09'"
        " UNION ALL SELECT 'one', count_if(origin_country = 'US') FROM flights WHERE hour = '00'",
        lake["database"],
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert sorted(rows(lake["athena"], execution["QueryExecutionId"])[1:]) == [["none", "0"], ["one", "2"]]


def test_output_location_comes_from_the_workgroup(lake):
    athena = lake["athena"]
    group = f"wg-{uuid.uuid4().hex[:6]}"
    athena.create_work_group(Name=group, Configuration={"ResultConfiguration": {"OutputLocation": OUTPUT}})

    query_id = athena.start_query_execution(QueryString="SELECT 1", WorkGroup=group)["QueryExecutionId"]

    assert query_id in athena.list_query_executions(WorkGroup=group)["QueryExecutionIds"]


def test_the_providers_athena_operator_and_glue_sensor(lake, local_aws, monkeypatch):
    from airflow.exceptions import TaskDeferred
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator
    from airflow.providers.amazon.aws.sensors.glue_catalog_partition import GlueCatalogPartitionSensor

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": local_aws.url, "region_name": "eu-west-1"}}),
    )
    plain = AthenaOperator(
        task_id="plain",
        query="SELECT count(*) FROM flights",
        database=lake["database"],
        output_location=OUTPUT,
        sleep_time=0,
    )
    query_id = plain.execute({})
    assert rows(lake["athena"], query_id)[1] == ["5"]

    deferred = AthenaOperator(
        task_id="deferred",
        query="SELECT 1",
        database=lake["database"],
        output_location=OUTPUT,
        deferrable=True,
        sleep_time=1,
    )
    with pytest.raises(TaskDeferred) as deferral:
        deferred.execute({})
    event = asyncio.run(first_event(deferral.value.trigger)).payload
    assert event["status"] == "success"
    assert deferred.execute_complete({}, event) == event["value"]

    sensor = GlueCatalogPartitionSensor(
        task_id="sensor", database_name=lake["database"], table_name="flights", expression="hour='01'"
    )
    assert sensor.poke({}) is True
    sensor.expression = "hour='09'"
    assert sensor.poke({}) is False


def test_result_rows_reads_every_page_through_the_providers_hook(lake, local_aws, monkeypatch):
    """The DAGs read results with the AthenaHook's paginator: 2,500 rows come in three
    pages of at most 1,000, and a query that failed has no results to read."""
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    from flightdata.orchestration.queries import NoResults, result_rows

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": local_aws.url, "region_name": "eu-west-1"}}),
    )
    hook = AthenaHook(aws_conn_id="aws_default")
    many = run_query(lake["athena"], "SELECT n FROM UNNEST(sequence(1, 2500)) AS t (n) ORDER BY n", lake["database"])
    assert [row["n"] for row in result_rows(hook, many["QueryExecutionId"])] == [str(n) for n in range(1, 2501)]

    failed = run_query(lake["athena"], "SELECT nothing FROM nowhere", lake["database"])
    with pytest.raises(NoResults, match=failed["QueryExecutionId"]):
        result_rows(hook, failed["QueryExecutionId"])


def test_stop_query_execution_cancels_a_running_query(lake):
    athena = lake["athena"]
    slow = (  # 4e10 rows, from sequences within Athena's 10,000 entries
        "SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) "
        "CROSS JOIN UNNEST(sequence(1, 400)) AS c(z) WHERE x * y * z % 7 = 3"
    )
    query_id = athena.start_query_execution(QueryString=slow, ResultConfiguration={"OutputLocation": OUTPUT})[
        "QueryExecutionId"
    ]
    deadline = time.monotonic() + 10
    while athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] == "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    athena.stop_query_execution(QueryExecutionId=query_id)

    status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED"
    assert "cancelled" in status["StateChangeReason"]


def query_processes() -> list:
    """The endpoint's query processes: forked from its fork server (same command line)."""
    import psutil

    def forked(process: psutil.Process) -> bool:
        try:
            return "multiprocessing.forkserver" in " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            return False

    return [p for p in psutil.Process().children(recursive=True) if forked(p) and forked(p.parent())]


def test_a_query_runs_in_a_process_of_its_own_that_ends_with_it(lake):
    """DuckDB's and Arrow's memory goes with the query's process, not into the endpoint's."""
    athena = lake["athena"]
    slow = (  # 9e10 rows, from sequences within Athena's 10,000 entries
        "SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) "
        "CROSS JOIN UNNEST(sequence(1, 900)) AS c(z) WHERE x * y * z % 11 = 3"
    )
    query_id = athena.start_query_execution(QueryString=slow, ResultConfiguration={"OutputLocation": OUTPUT})[
        "QueryExecutionId"
    ]
    deadline = time.monotonic() + 30
    while not query_processes():
        assert time.monotonic() < deadline, "no process of its own ran the query"
        time.sleep(0.05)
    assert all(p.pid != os.getpid() for p in query_processes())

    athena.stop_query_execution(QueryExecutionId=query_id)

    deadline = time.monotonic() + 30
    while query_processes():
        assert time.monotonic() < deadline, "the stopped query's process is still running"
        time.sleep(0.05)
    status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED"
    execution = run_query(athena, "SELECT count(*) FROM flights", lake["database"])
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert query_processes() == []


def test_a_crafted_partition_value_stays_a_value_and_reads_nothing_outside_the_lake(lake, tmp_path):
    """Glue partition values and column names reach DuckDB as quoted literals and identifiers."""
    outside = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"icao24": ["stolen"], "origin_country": ["OUTSIDE"], "altitude_ft": [1.0]}), outside)
    crafted = f"x' AS \"hour\" FROM read_parquet('{outside}') --"
    lake["glue"].create_partition(
        DatabaseName=lake["database"],
        TableName="flights",
        PartitionInput={
            "Values": [crafted],
            "StorageDescriptor": {"Location": f"{lake['location']}hour=00/", "Columns": []},
        },
    )

    execution = run_query(lake["athena"], "SELECT origin_country, hour FROM flights", lake["database"])

    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    found = rows(lake["athena"], execution["QueryExecutionId"])[1:]
    assert ["OUTSIDE", crafted] not in found
    assert all(country != "OUTSIDE" for country, _ in found)
    assert sum(1 for _, hour in found if hour == crafted) == 3  # hour=00's three rows, labelled verbatim


def test_the_query_cache_stays_a_bounded_working_set(lake, local_aws, monkeypatch):
    """Copies of lake files are kept for reuse, but never more than the cache's bound."""
    from localaws.athena import engine as local_athena

    bound = max(lake["sizes"].values())  # room for about one file
    monkeypatch.setattr(local_athena, "CACHE_MAX_BYTES", bound)
    execution = run_query(lake["athena"], "SELECT count(*) FROM flights", lake["database"])
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]

    cache = local_aws.app.athena.cache
    kept = sum(p.stat().st_size for p in cache.glob("*/*"))
    assert 0 < kept <= bound


def test_two_writers_of_one_query_record_never_tear_it(tmp_path):
    """A query's thread and a restarted endpoint that fails it as orphaned may write its record
    at once (test_local_restart met that as "QueryExecution ... was not found")."""
    import threading

    from localaws.athena.executions import AthenaExecutor

    executor = AthenaExecutor(tmp_path, lambda service, region: None, lambda: None)
    record = {"QueryExecutionId": "0869beed-983e-4be8-8038-4124dfa6cf88", "Query": "x" * 200_000}
    executor._save(record)
    torn = []

    def write(state: str) -> None:
        for _ in range(200):
            executor._save({**record, "Status": {"State": state}})

    def read() -> None:
        for _ in range(400):
            try:
                executor._load(record["QueryExecutionId"])
            except Exception as exc:
                torn.append(exc)

    threads = [threading.Thread(target=write, args=(state,)) for state in ("RUNNING", "FAILED")]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert torn == []
