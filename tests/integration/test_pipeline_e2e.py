"""The three DAGs end to end under Airflow's scheduler, on the simulator and the local endpoint.

The session's shared stack runs them, triggered through Airflow's REST API; each test keeps
to minutes and hours no other test writes (the current hour, five and four hours ago; the
soak takes two and three hours ago). One run goes through ``airflow dags test``, the command
the README promises for a DAG on a laptop.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdata import lake
from flightdata.orchestration import compat, retention
from flightdata.orchestration.dag_defaults import FRESHNESS, STATE_VECTORS_DAG
from flightdata.resources import FUNCTIONS
from flightdata_local.airflow_stack import PIPELINE_DAGS
from flightdata_local.demo import demo_minutes
from opensky_sim import Fleet

FLEET = Fleet(seed=7)  # the simulator's: what it serves each minute, and how much of it is invalid


def served(minute: datetime) -> int:
    return FLEET.served(int(minute.timestamp()))[0]


def valid(minute: datetime) -> int:
    records, invalid = FLEET.served(int(minute.timestamp()))
    return records - invalid


def count(stack, table: str, where: str) -> int:
    return int(stack.athena_rows(f"SELECT count(*) AS n FROM {table} WHERE {where}")[0]["n"])


def keys(stack, prefix: str) -> list[str]:
    pages = stack.client("s3").get_paginator("list_objects_v2").paginate(Bucket=stack.names.lake_bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def hour_objects(stack, hour: datetime) -> list[str]:
    """The keys a minute's snapshot writes, for every minute of ``hour``."""
    return [
        k for kind in ("raw", "processed", "quarantine", "commits") for k in keys(stack, lake.hour_prefix(kind, hour))
    ]


def without_attempt(key: str) -> str:
    """processed/.../<minute>_<region>.<attempt>.parquet → the key with the attempt left out."""
    stem, _, rest = key.partition(".")
    return stem + "." + rest.rsplit(".", 1)[-1] if rest.count(".") else key


@pytest.fixture(scope="module")
def stack(shared_stack):
    return shared_stack.stack


@pytest.fixture(scope="module")
def api(shared_stack):
    return shared_stack.api


def test_minutes_compaction_and_report_reconcile(stack, api):
    minutes = demo_minutes(datetime.now(UTC), 2)
    hour = minutes[0].replace(minute=0)
    hour_filter = lake.partition_filter(lake.partition_values(hour))
    run_ids = [api.trigger("opensky_state_vectors", when) for when in minutes]
    for run_id in run_ids:
        api.wait("opensky_state_vectors", run_id)

    # THEN each run reads well in the Airflow UI: one summary line per task in its log, dict
    # XComs, mapped instances labelled by region, and an asset event saying what was committed
    first = run_ids[0]
    ingest_log = api.task_log("opensky_state_vectors", first, "ingest", map_index=0)
    transform_log = api.task_log("opensky_state_vectors", first, "transform", map_index=0)
    assert re.search(r"region=global records=\d+ credits_spent=\d+ credits_left=\d+ attempts=1 -> s3://", ingest_log)
    assert re.search(r"region=global records=\d+ valid=\d+ quarantined=\d+ quality=\d+\.\d\d% -> s3://", transform_log)
    labels = {
        (ti["task_id"], ti["rendered_map_index"])
        for run_id in run_ids
        for ti in api.task_instances("opensky_state_vectors", run_id)
        if ti["task_id"] in ("ingest", "transform")
    }
    assert sorted(labels) == [("ingest", "global"), ("transform", "global")]
    xcoms = [api.xcom("opensky_state_vectors", run_id, "transform", map_index=0) for run_id in run_ids]
    assert all(isinstance(x, dict) and x["region"] == "global" for x in xcoms)
    extras = [e["extra"] for e in api.asset_events("opensky_state_vectors") if e["source_run_id"] in run_ids]
    assert sorted(e["snapshot_time"] for e in extras) == [m.isoformat() for m in minutes]
    extras.sort(key=lambda e: e["snapshot_time"])
    assert [e["records"] for e in extras] == [served(m) for m in minutes]
    assert all(e["partition"] == lake.partition_path(hour) for e in extras)

    # GIVEN two minutes ingested, THEN Athena sees what the simulator served, minus the quarantine
    for when in minutes:
        at = f"snapshot_time = timestamp '{when:%Y-%m-%d %H:%M:%S}'"
        valid_rows, quarantined = count(stack, "processed", at), count(stack, "quarantine", at)
        assert valid_rows == valid(when)
        assert valid_rows + quarantined == served(when)

    glue = stack.client("glue")
    for table in ("processed", "quarantine"):
        partitions = glue.get_partitions(DatabaseName=stack.names.glue_database, TableName=table)["Partitions"]
        assert list(lake.partition_values(hour).values()) in [p["Values"] for p in partitions]

    statistics = stack.client("cloudwatch").get_metric_statistics(
        Namespace=stack.names.metrics_namespace,
        MetricName="Records",
        Dimensions=[{"Name": "Region", "Value": "global"}],
        StartTime=minutes[0] - timedelta(minutes=1),
        EndTime=minutes[-1] + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(p["Sum"] for p in statistics["Datapoints"]) == sum(served(m) for m in minutes)

    # WHEN a minute is run again, THEN nothing is duplicated
    hour_keys = [
        k for kind in ("raw", "processed", "quarantine", "commits") for k in keys(stack, lake.hour_prefix(kind, hour))
    ]
    api.run("opensky_state_vectors", minutes[0])
    assert count(stack, "processed", hour_filter) == sum(valid(m) for m in minutes)
    rerun = [
        k for kind in ("raw", "processed", "quarantine", "commits") for k in keys(stack, lake.hour_prefix(kind, hour))
    ]
    assert [without_attempt(k) for k in rerun] == [without_attempt(k) for k in hour_keys]
    assert rerun != hour_keys  # the minute's objects are the new attempt's

    # GIVEN an orphan a dead writer left (an attempt that never committed)
    s3 = stack.client("s3")
    committed_key = next(k for k in rerun if k.startswith("processed/"))
    rows = pq.read_table(io.BytesIO(s3.get_object(Bucket=stack.names.lake_bucket, Key=committed_key)["Body"].read()))
    attempt_time = datetime(2026, 1, 1, 0, 0, 1)  # the dead attempt's own ingested_at
    at = rows.schema.get_field_index("ingested_at")
    rows = rows.set_column(at, rows.schema.field(at), pa.repeat(pa.scalar(attempt_time, pa.timestamp("ms")), len(rows)))
    orphan = committed_key.rsplit(".", 2)[0] + f".{lake.attempt_id(attempt_time.replace(tzinfo=UTC))}.parquet"
    sink = io.BytesIO()
    pq.write_table(rows, sink)
    s3.put_object(Bucket=stack.names.lake_bucket, Key=orphan, Body=sink.getvalue())
    valid_rows = sum(valid(m) for m in minutes)
    assert count(stack, "processed", hour_filter) > valid_rows  # a reader ignoring commits would count it

    # WHEN the hour is compacted, THEN the curated hour holds exactly the committed rows once
    # (the soak compacts each of its hours twice, and checks that one compaction's files stay)
    api.run("opensky_compaction", conf={"hour": f"{hour:%Y-%m-%dT%H}", "wait_for_minutely": False})
    assert count(stack, "curated_hourly", hour_filter) == valid_rows
    staging = [t["Name"] for t in glue.get_tables(DatabaseName=stack.names.glue_database)["TableList"]]
    assert not [t for t in staging if t.startswith("curated_staging_")]

    # WHEN the daily report runs, THEN it leaves CSVs, a summary and an HTML page under reports/
    day = f"{hour:%Y-%m-%d}"
    api.run("opensky_daily_report", conf={"day": day})
    report = keys(stack, f"reports/date={day}/")
    assert f"reports/date={day}/report.html" in report
    assert f"reports/date={day}/aircraft_by_country.csv" in report
    summary = json.loads(
        s3.get_object(Bucket=stack.names.lake_bucket, Key=f"reports/date={day}/summary.json")["Body"].read()
    )
    assert summary["hours_not_reconciled"] == []
    assert summary["hours_with_data"] >= 1

    # AND it answers the seed README's flight status and altitude questions
    def csv_rows(name: str) -> list[dict[str, str]]:
        body = s3.get_object(Bucket=stack.names.lake_bucket, Key=summary["csv"][name])["Body"].read().decode()
        return list(csv.DictReader(io.StringIO(body)))

    statuses = {row["status"]: int(row["state_vectors"]) for row in csv_rows("flight_status")}
    assert set(statuses) <= {"airborne", "on ground", "unknown"}
    assert statuses["airborne"] > statuses["on ground"] > 0
    assert sum(statuses.values()) == valid_rows
    altitudes = {row["statistic"]: float(row["altitude_ft"]) for row in csv_rows("altitude_stats")}
    assert list(altitudes) == ["average", "median", "highest"]
    assert 0 < altitudes["median"] <= altitudes["highest"]
    assert altitudes["average"] <= altitudes["highest"]

    # THEN the curated partition records the hour's completeness, and CloudWatch has it too
    partition = glue.get_partition(
        DatabaseName=stack.names.glue_database,
        TableName=stack.names.tables["curated"],
        PartitionValues=list(lake.partition_values(hour).values()),
    )["Partition"]
    assert partition["Parameters"]["flightdata.minutes_present"] == str(len({m.replace(second=0) for m in minutes}))
    assert partition["Parameters"]["flightdata.rows"] == str(valid_rows)
    completeness = stack.client("cloudwatch").get_metric_statistics(
        Namespace=stack.names.metrics_namespace,
        MetricName="HourCompleteness",
        StartTime=hour - timedelta(minutes=1),
        EndTime=hour + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in completeness["Datapoints"]] == [pytest.approx(100 * len(minutes) / 60)]

    # WHEN another minute of the hour commits after its compaction, THEN the report flags the hour
    present = {lake.minute_of_key(k) for k in keys(stack, lake.hour_prefix("commits", hour))}
    extra = next(m for m in (hour + timedelta(minutes=n) for n in range(60)) if m not in present)
    api.run("opensky_state_vectors", extra)
    api.run("opensky_daily_report", conf={"day": day})
    summary = json.loads(
        s3.get_object(Bucket=stack.names.lake_bucket, Key=f"reports/date={day}/summary.json")["Body"].read()
    )
    assert f"{hour:%H}" in summary["hours_not_reconciled"]


def seed_readme_queries(table: str, day: datetime) -> list[str]:
    """The seed README's two sample queries, with only the table name and the date changed."""
    text = (Path(__file__).parents[1] / "fixtures" / "seed_readme_queries.sql").read_text()
    text = text.replace("flight_data_processed", table)
    text = text.replace(
        "year = '2025' AND month = '09' AND day = '06'",
        f"year = '{day:%Y}' AND month = '{day:%m}' AND day = '{day:%d}'",
    )
    return [q.strip() + ";" for q in text.split(";") if "SELECT" in q]


def test_the_seed_readme_queries_run_unchanged_but_for_the_table_and_the_date(stack, api):
    """The seed's bands compare baro_altitude, which is in metres (as OpenSky sends it), with
    thresholds labelled in feet; the project's own report bands baro_altitude_ft. The
    queries still run as written, and their counts agree with the table."""
    when = datetime.now(UTC).replace(minute=17, second=0, microsecond=0) - timedelta(hours=5)
    api.run("opensky_state_vectors", when)
    day = f"year = '{when:%Y}' AND month = '{when:%m}' AND day = '{when:%d}'"

    by_country, altitude = (
        [list(row.values()) for row in stack.athena_rows(q)] for q in seed_readme_queries("processed", when)
    )
    assert altitude

    assert 1 <= len(by_country) <= 10
    top_country, top_count = by_country[0][0], int(by_country[0][1])
    assert top_count == count(stack, "processed", f"{day} AND origin_country = '{top_country}'")
    assert all(float(row[2]) >= 0 and float(row[3]) >= 0 for row in by_country if row[2] and row[3])
    assert [int(r[1]) for r in by_country] == sorted((int(r[1]) for r in by_country), reverse=True)
    assert {r[0] for r in altitude} <= {
        "Low (0-10k ft)",
        "Medium (10-30k ft)",
        "High (30-50k ft)",
        "Very High (50k+ ft)",
    }
    assert sum(int(r[1]) for r in altitude) == count(stack, "processed", "baro_altitude IS NOT NULL")


def test_a_late_minute_asks_for_its_hour_again_and_misses_its_deadline(stack, api):
    """A minute committed after its hour's compaction could have run triggers a recompaction
    run, which compacts it (one that reaches an hour already compacted, before that, is
    flagged by the report: the end of test_minutes_compaction_and_report_reconcile). On
    Airflow 3.3 it also misses its freshness deadline, in Airflow and in CloudWatch."""
    now = datetime.now(UTC)
    late = now.replace(minute=30, second=0, microsecond=0) - timedelta(hours=4)
    run = api.run("opensky_state_vectors", late)
    if compat.has_deadline_alerts():
        deadline_missed(stack, api, run.run_id, late, since=now)
    recompaction = next(
        (r for r in api.run_ids("opensky_compaction") if r.startswith(f"recompact__{late:%Y-%m-%dT%H}__")), None
    )
    assert recompaction, api.run_ids("opensky_compaction")
    # AND the run it asked for compacts the late minute's hour
    api.wait("opensky_compaction", recompaction)
    late_hour = lake.partition_filter(lake.partition_values(late))
    assert count(stack, "curated_hourly", late_hour) == count(stack, "processed", late_hour) > 0


def test_a_minute_skipped_for_the_credit_reserve_still_publishes_its_credits(stack, api):
    """When credits run low the ingestion is skipped, and CreditsLeft is exactly the metric
    that must not go missing then. Every local Lambda starts cold, knowing no credits: the
    run hands it those the previous minute found left."""
    # GIVEN a minute that fetched, and found some credits left
    first = datetime.now(UTC).replace(minute=40, second=0, microsecond=0) - timedelta(hours=5)
    landed = api.xcom("opensky_state_vectors", api.run("opensky_state_vectors", first).run_id, "ingest", map_index=0)
    left = landed["credits_remaining"]

    # WHEN the next minute's reserve is all of them
    when = first + timedelta(minutes=1)
    run = api.run("opensky_state_vectors", when, conf={"credit_reserve": left})

    # THEN its ingestion is skipped, and its metrics task still publishes what is left
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances("opensky_state_vectors", run.run_id)}
    assert states["ingest"] == "skipped", states
    assert states["publish_quality_metrics"] == "success", states
    points = stack.client("cloudwatch").get_metric_statistics(
        Namespace=stack.names.metrics_namespace,
        MetricName="CreditsLeft",
        StartTime=when,
        EndTime=when + timedelta(seconds=59),
        Period=60,
        Statistics=["Minimum"],
    )["Datapoints"]
    assert [p["Minimum"] for p in points] == [left]


def test_the_runs_are_measured_in_the_shape_the_cost_estimate_reads(stack, api):
    from flightdata_cdk import cost
    from flightdata_local import measure

    # GIVEN the minutes run above whose ingest succeeded, each one invocation of each function
    # (every phase of them counts as "minutely" here)
    ingested = api.call(
        "GET",
        "dags/opensky_state_vectors/dagRuns/~/taskInstances",
        params={"task_id": "ingest", "state": ["success"], "limit": 1000},
    )
    runs = ingested["total_entries"]
    phases = [measure.Phase("minutely", datetime(2000, 1, 1, tzinfo=UTC))]

    workload = measure.workload(stack, runs, phases, {"command": "the end-to-end test"})

    # THEN each function's REPORT lines were read from the endpoint's log, with real figures
    for name in ("ingestion_function", "transform_function"):
        measured = workload["lambda"][name]
        assert measured["invocations"] >= runs
        assert measured["mean_duration_ms"] > 0
        assert measured["mean_init_ms"] > 0
        assert 20 < measured["max_memory_used_mb"] < 1024
        assert measured["mean_log_bytes"] > 0
    assert workload["s3_per_snapshot"]["raw"]["bytes"] > 100_000  # a gzipped /states/all of 12,000 aircraft
    assert workload["athena"]["bytes_scanned_per_query"]["minutely"]
    assert workload["airflow_task_log_bytes_per_minutely_run"] > 0
    assert workload["custom_metrics"] > 0

    # AND the estimate prices it
    shape = cost.Shape(
        environment_class="mw1.small",
        min_workers=1,
        nat_gateways=1,
        interface_endpoint_azs=0,
        kms_keys=1,
        secrets=1,
        alarms=8,
        dashboards=1,
        functions={spec.name_attr: (spec.memory_mb, "arm64") for spec in FUNCTIONS},
        log_retention_days=30,
        raw_expiry_days=365,
        opensky_tier="standard",
    )
    estimate = cost.estimate(shape, workload, cost.Prices.load())
    lambda_usd = estimate.by_component()["Lambda"]
    assert 0 < lambda_usd < 10


def heartbeats(api) -> list[datetime]:
    health = api.airflow.health() or {}
    beats = [health.get(c, {}).get(f"latest_{c}_heartbeat") for c in ("scheduler", "triggerer", "dag_processor")]
    return [datetime.fromisoformat(b) if b else datetime.min.replace(tzinfo=UTC) for b in beats]


def test_airflow_metadata_is_cleaned_by_the_retention_dag_and_db_clean(stack, api):
    """The retention DAG runs where the database is, here through ``airflow dags test`` beside
    the live scheduler, as a developer would run it. The runs above are manual, and db clean
    keeps only the latest non-manual run of a DAG, so none of them stays; Airflow carries on."""
    stack.run_dag("airflow_db_retention")  # 30 days: nothing this young goes
    assert len(api.run_ids("opensky_state_vectors")) >= 3
    # No new run while the clean deletes every run up to now: Airflow 3.3's scheduler stops
    # when a run it is scheduling disappears (the retention's 30 days never reach such a run).
    # The runs in flight finish first (the recompaction a late minute of the test above asked
    # for): a run of a paused DAG stays queued or running for good.
    api.wait_idle()
    for dag_id in PIPELINE_DAGS:
        api.call("PATCH", f"dags/{dag_id}", json={"is_paused": True})
    api.wait_idle()
    # Everything before now, but not the live components' own jobs: they heartbeat every few
    # seconds, and a job row cleaned under a running component stops it, as it would on MWAA
    # (where the retention keeps 30 days).
    cutoff = datetime.now(UTC)
    while not all(beat > cutoff for beat in heartbeats(api)):
        time.sleep(0.5)

    retention.clean_locally(cutoff, env=stack.env)

    assert api.run_ids("opensky_state_vectors") == []
    api.airflow.wait_ready(timeout_s=60)  # every component still heartbeats (the browser tests run on it next)
    for dag_id in PIPELINE_DAGS:
        api.call("PATCH", f"dags/{dag_id}", json={"is_paused": False})


def deadline_missed(stack, api, run_id: str, logical_date: datetime, since: datetime) -> None:
    """The run's deadline is listed as missed by Airflow's UI API, at its logical date plus the
    DAG's freshness limit, and the callback's DeadlineMissed for the DAG reached CloudWatch."""
    limit = FRESHNESS[STATE_VECTORS_DAG]
    path = f"{api.url}/ui/dags/{STATE_VECTORS_DAG}/dagRuns/{quote(run_id, safe='')}/deadlines"

    def missed():
        answer = api.session.get(path, timeout=30)
        answer.raise_for_status()
        return [d for d in answer.json()["deadlines"] if d["missed"]]

    (deadline,) = eventually(missed)
    assert datetime.fromisoformat(deadline["deadline_time"]) == logical_date + limit
    cloudwatch = stack.client("cloudwatch")

    def published():
        stats = cloudwatch.get_metric_statistics(
            Namespace=stack.names.metrics_namespace,
            MetricName="DeadlineMissed",
            Dimensions=[{"Name": "dag_id", "Value": STATE_VECTORS_DAG}],
            StartTime=since - timedelta(minutes=1),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return sum(point["Sum"] for point in stats["Datapoints"])

    assert eventually(published) >= 1


def eventually(probe, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"nothing after {timeout_s:.0f} s")
