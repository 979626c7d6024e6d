"""What the DAG tasks compute, without Airflow running."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from flightdata import checks, lake, reporting
from flightdata.orchestration import compaction, lambda_calls, lateness, metrics, minutely, pacing, retention
from flightdata.orchestration.daily_report import plan_day
from flightdata.reporting import QueryResult, render_html, to_csv
from flightdata.resources import Resources

NAMES = Resources("flightdata-test")
MINUTE = datetime(2026, 3, 1, 14, 7, tzinfo=UTC)


def test_ingestion_payloads_carry_the_minute_region_box_and_reserve():
    box = {"lamin": 35, "lomin": -10, "lamax": 60, "lomax": 30}
    payloads = [json.loads(p) for p in lambda_calls.ingestion_payloads(MINUTE, [{"name": "europe", "bbox": box}], 50)]

    assert payloads == [
        {"snapshot_time": "2026-03-01T14:07:00+00:00", "region": "europe", "bbox": box, "credit_reserve": 50}
    ]


def test_region_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        lambda_calls.ingestion_payloads(MINUTE, [{"name": "a"}, {"name": "a"}], 0)


def test_transform_payload_follows_the_landed_raw_object():
    landed = {"bucket": "b", "raw_key": "raw/x.json.gz", "snapshot_time": "t", "region": "global", "records": 5}

    assert json.loads(lambda_calls.transform_payload(json.dumps(landed))) == {
        "bucket": "b",
        "raw_key": "raw/x.json.gz",
        "snapshot_time": "t",
        "region": "global",
    }


def test_quality_metrics_have_units_the_region_dimension_and_skip_unknowns():
    summary = {
        "snapshot_time": "2026-03-01T14:07:00Z",
        "region": "global",
        "records": 100,
        "valid": 98,
        "quarantined": 2,
        "quality_score": 0.98,
        "completeness": 0.97,
        "credits_remaining": None,
    }

    data = metrics.quality_metric_data([summary], now=datetime(2026, 3, 1, 14, 8, 30, tzinfo=UTC))

    by_name = {d["MetricName"]: d for d in data}
    assert by_name["QualityScore"]["Value"] == pytest.approx(98.0)
    assert by_name["QualityScore"]["Unit"] == "Percent"
    assert by_name["EndToEndLatency"]["Value"] == 90.0
    assert "CreditsRemaining" not in by_name
    regional = [d for d in data if "Dimensions" in d]
    assert regional
    assert all(d["Dimensions"] == [{"Name": "Region", "Value": "global"}] for d in regional)


def test_the_alarmed_metrics_have_a_series_over_every_region_whatever_they_are_called():
    """The stack cannot know the regions a DAG run is given: it alarms on series without a
    Region dimension, which a run with custom regions must still feed."""
    summaries = [
        {
            "snapshot_time": "2026-03-01T14:07:00Z",
            "region": name,
            "records": n,
            "valid": v,
            "quarantined": n - v,
            "quality_score": v / n,
            "completeness": 1.0,
        }
        for name, n, v in (("alps", 300, 297), ("iberia", 100, 90))
    ]

    data = metrics.quality_metric_data(summaries, now=datetime(2026, 3, 1, 14, 8, tzinfo=UTC))

    overall = {d["MetricName"]: d["Value"] for d in data if "Dimensions" not in d}
    assert overall["Records"] == 400
    assert overall["ValidRecords"] == 387
    assert overall["QuarantinedRecords"] == 13
    assert overall["QualityScore"] == pytest.approx(100 * 387 / 400)


def test_each_deployment_publishes_to_a_namespace_of_its_own():
    assert Resources("flightdata-prod").metrics_namespace == "FlightData/flightdata-prod"
    assert Resources("flightdata-dev").metrics_namespace != Resources("flightdata-prod").metrics_namespace


def test_compaction_takes_the_previous_hour_unless_told():
    assert compaction.hour_to_compact(datetime(2026, 3, 1, 15, 5, tzinfo=UTC), None) == datetime(
        2026, 3, 1, 14, tzinfo=UTC
    )
    assert compaction.hour_to_compact(MINUTE, "2026-02-27T09") == datetime(2026, 2, 27, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="param 'hour'"):
        compaction.hour_to_compact(MINUTE, "yesterday")


def test_each_run_and_try_stages_somewhere_new():
    hour = datetime(2026, 3, 1, 14, tzinfo=UTC)
    first = compaction.plan(NAMES, hour, "manual__1", 1)
    retry = compaction.plan(NAMES, hour, "manual__1", 2)

    assert first["staging_table"] != retry["staging_table"]
    assert first["staging_location"].startswith(
        "s3://flightdata-test-lake/curated/year=2026/month=03/day=01/hour=14/run="
    )
    assert first["partition_filter"] == "year = '2026' AND month = '03' AND day = '01' AND hour = '14'"


def test_report_day_defaults_to_yesterday():
    assert plan_day(MINUTE, None)["day"] == "2026-02-28"
    assert plan_day(MINUTE, "2026-01-05")["prefix"] == "reports/date=2026-01-05/"
    with pytest.raises(ValueError, match="param 'day'"):
        plan_day(MINUTE, "05/01/2026")


def test_the_html_report_is_self_contained_and_escapes_text():
    results = {
        "aircraft_by_country": QueryResult([{"origin_country": "<Nowhere>", "aircraft": "3"}], 1234),
        "altitude_bands": QueryResult([], 0),
    }

    page = render_html("2026-03-01", results)

    assert "&lt;Nowhere&gt;" in page
    assert "1,234 bytes scanned" in page
    assert "No data for this day" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in page
    assert "src=" not in page
    assert to_csv(results["aircraft_by_country"].rows) == "origin_country,aircraft\r\n<Nowhere>,3\r\n"


def test_the_ingest_operator_skips_when_the_function_reports_the_reserve(monkeypatch):
    from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

    from flightdata.orchestration.compat import AirflowSkipException
    from flightdata.orchestration.operators import SKIPPED_KEY, OpenSkyIngestOperator

    class TaskInstance:
        pushed: dict = {}  # noqa: RUF012

        def xcom_push(self, key, value):
            self.pushed[key] = value

    answer = {"status": "skipped", "reason": "skipping the OpenSky call: it costs 4 credits, 5 remain"}
    monkeypatch.setattr(LambdaInvokeFunctionOperator, "execute", lambda self, context: json.dumps(answer))
    operator = OpenSkyIngestOperator(task_id="ingest", function_name="fn", payload="{}")
    ti = TaskInstance()

    with pytest.raises(AirflowSkipException, match="4 credits, 5 remain"):
        operator.execute({"ti": ti})
    assert ti.pushed == {SKIPPED_KEY: answer}  # for publish_quality_metrics: the credits left

    landed = {"status": "ok", "raw_key": "raw/x"}
    monkeypatch.setattr(LambdaInvokeFunctionOperator, "execute", lambda self, context: json.dumps(landed))
    assert operator.execute({"ti": ti}) == landed


def test_credits_remembered_are_handed_on_only_while_fresh(monkeypatch):
    from airflow.sdk import Variable

    stored: dict[str, str] = {}
    monkeypatch.setattr(Variable, "set", staticmethod(lambda key, value: stored.__setitem__(key, value)))
    monkeypatch.setattr(Variable, "get", staticmethod(lambda key, default=None: stored.get(key, default)))
    assert pacing.remembered_credits(MINUTE) is None  # nothing stored yet
    answers = [
        {"status": "ok", "region": "a", "snapshot_time": MINUTE.isoformat(), "credits_remaining": 120},
        {"status": "skipped", "region": "b", "snapshot_time": MINUTE.isoformat(), "credits_remaining": 116},
        {"status": "ok", "region": "c", "snapshot_time": MINUTE.isoformat(), "credits_remaining": None},
    ]

    assert pacing.remember_credits(answers) == {"snapshot_time": MINUTE.isoformat(), "credits_remaining": 116}
    assert pacing.remembered_credits(MINUTE + timedelta(minutes=1)) == 116
    assert (
        pacing.remembered_credits(MINUTE + pacing.CREDITS_FRESH + timedelta(minutes=1)) is None
    )  # a refill may have come
    assert pacing.remembered_credits(MINUTE - timedelta(minutes=1)) is None  # a rerun of an older minute
    payload = json.loads(lambda_calls.ingestion_payloads(MINUTE, [{"name": "a"}], 100, 116)[0])
    assert payload["credits_remaining"] == 116
    published = {m["MetricName"]: m["Value"] for m in metrics.credit_metric_data(answers)}
    assert published["CreditsLeft"] == 116
    assert published["CreditsSpent"] == 0  # the answers above say nothing was spent


def test_minutely_tasks_push_dicts_log_one_summary_line_and_are_labelled_by_region(monkeypatch, caplog):
    """The XCom is a dict the UI renders as a tree; the log has the results, not only the
    request; a mapped instance's label (map_index_template) comes from its payload's region."""
    from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

    from flightdata.orchestration.operators import REGION_LABEL, OpenSkyIngestOperator, TransformOperator

    landed = {
        "status": "ok",
        "bucket": "fd-lake",
        "raw_key": "raw/year=2026/x.json.gz",
        "region": "europe",
        "records": 12000,
        "credits_spent": 4,
        "credits_remaining": 3848,
        "attempts": 1,
    }
    report = {
        "status": "ok",
        "bucket": "fd-lake",
        "region": "europe",
        "records": 12000,
        "valid": 11856,
        "quarantined": 144,
        "quality_score": 0.988,
        "keys": {"processed": "processed/p.parquet", "quarantine": "quarantine/q.parquet"},
    }
    payload = json.dumps({"region": "europe", "snapshot_time": "2026-03-01T10:00:00+00:00"})
    for operator_class, answer, line in (
        (
            OpenSkyIngestOperator,
            landed,
            "region=europe records=12000 credits_spent=4 credits_left=3848 attempts=1"
            " -> s3://fd-lake/raw/year=2026/x.json.gz",
        ),
        (
            TransformOperator,
            report,
            "region=europe records=12000 valid=11856 quarantined=144 quality=98.80%"
            " -> s3://fd-lake: processed=processed/p.parquet, quarantine=quarantine/q.parquet",
        ),
    ):
        monkeypatch.setattr(LambdaInvokeFunctionOperator, "execute", lambda self, context, a=answer: json.dumps(a))
        operator = operator_class(task_id="t", function_name="fn", payload=payload, map_index_template=REGION_LABEL)
        context: dict = {}
        # An operator's log is the standard library's on Airflow 3.0 and structlog's from 3.1.
        with caplog.at_level("INFO"), structlog.testing.capture_logs() as structured:
            assert operator.execute(context) == answer
        assert line in caplog.text + "\n".join(str(entry["event"]) for entry in structured)
        assert context["region"] == "europe"

    monkeypatch.setattr(LambdaInvokeFunctionOperator, "execute", lambda self, context: json.dumps(["not", "a", "dict"]))
    with pytest.raises(ValueError, match="not a JSON object"):
        TransformOperator(task_id="t", function_name="fn", payload=payload).execute({})


def test_the_processed_asset_event_says_what_was_committed():
    when = datetime(2026, 3, 1, 10, 7, tzinfo=UTC)
    reports = [
        {"region": "europe", "records": 100, "valid": 90},
        {"region": "alps", "records": 50, "valid": 50},
    ]

    extra = lambda_calls.committed_extra(when, reports)

    assert extra == {
        "snapshot_time": "2026-03-01T10:07:00+00:00",
        "partition": "year=2026/month=03/day=01/hour=10",
        "regions": ["alps", "europe"],
        "records": 150,
        "valid": 140,
        "quality": 0.9333,
    }
    json.dumps(extra)  # an asset event's extra is stored as JSON


def test_a_negative_credit_reserve_is_refused_not_clamped():
    with pytest.raises(ValueError, match="credit_reserve must be 0 or more, got -5"):
        lambda_calls.ingestion_payloads(datetime(2026, 3, 1, tzinfo=UTC), minutely.DEFAULT_REGIONS, -5)


def test_an_empty_day_says_so_once_and_its_run_is_skipped_with_the_reason():
    from flightdata.orchestration import daily_report
    from flightdata.orchestration.compat import AirflowSkipException

    empty = {name: QueryResult([], 0) for name in reporting.REPORT_NAMES}
    page = render_html("2026-03-01", empty)

    assert page.count("No data was collected on this day") == 1
    assert "<svg" not in page
    assert "No data for this day" not in page
    with pytest.raises(AirflowSkipException, match="2026-03-01: No data was collected"):
        daily_report.skip_if_empty({"day": "2026-03-01", "html": "reports/date=2026-03-01/report.html", "empty": True})
    daily_report.skip_if_empty({"day": "2026-03-01", "html": "x", "empty": False})  # a day with data goes on


class FakeTaskInstance:
    """Answers get_dr_count from a table of minutely run states."""

    def __init__(self, states: dict[datetime, str]) -> None:
        self.states = states

    calls = 0

    def get_dr_count(self, dag_id, logical_dates, states):
        assert dag_id == "opensky_state_vectors"
        self.calls += 1
        return sum(1 for when in logical_dates if self.states.get(when) in states)


HOUR = datetime(2026, 3, 1, 14, tzinfo=UTC)
AFTER = HOUR + timedelta(hours=1, minutes=5)  # when the hourly run looks at it


def test_an_hour_with_missing_minutes_is_ready_once_nothing_of_it_runs():
    """GIVEN a stack started at 14:24 (no runs before) WHEN compaction looks at 15:05 THEN it
    does not wait for minutes that will never run."""
    states = {m: "success" for m in compaction.minutes_of(HOUR)[24:]}

    readiness = compaction.hour_readiness(FakeTaskInstance(states), HOUR, now=AFTER)

    assert readiness.ready, readiness.reason


def test_the_sensor_says_which_minutes_it_waits_for():
    states = {m: "success" for m in compaction.minutes_of(HOUR)}
    for minute in (30, 31, 32, 59):
        states[compaction.minutes_of(HOUR)[minute]] = "running" if minute != 59 else "queued"
    ti = FakeTaskInstance(states)

    readiness = compaction.hour_readiness(ti, HOUR, now=AFTER)

    assert not readiness.ready
    assert readiness.reason == "waiting for 4 minutely run(s) still queued or running: 14:30-14:32, 14:59"
    assert ti.calls < 25  # found by halving, not by asking for each minute


def test_an_hour_is_not_ready_before_its_last_runs_can_have_finished():
    readiness = compaction.hour_readiness(FakeTaskInstance({}), HOUR, now=HOUR + timedelta(hours=1, minutes=2))

    assert not readiness.ready
    assert readiness.reason == "the hour ends at 15:00; waiting until 15:03 UTC for its last runs"


class FakeS3:
    """list_objects_v2 pages over a fixed list of keys."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def get_paginator(self, name):
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket, Prefix):
        yield {"Contents": [{"Key": k} for k in self.keys if k.startswith(Prefix)]}


NAMES = Resources("flightdata-test")


def test_a_poke_reports_the_committed_and_missing_minutes(caplog):
    minutes = compaction.minutes_of(HOUR)[24:]
    s3 = FakeS3([lake.commit_key(m, "global") for m in minutes] + [lake.commit_key(minutes[0], "europe")])
    ti = FakeTaskInstance({m: "success" for m in minutes})

    with caplog.at_level("INFO"):
        found = compaction.check_hour(ti, s3, NAMES, HOUR, wait=True)

    assert found == {
        "hour": HOUR.isoformat(),
        "minutes_present": 36,
        "minutes_planned": 60,
        "completeness": 0.6,
        "missing": "14:00-14:23",
    }
    assert "36 of 60 planned minutes committed; missing: 14:00-14:23" in caplog.text


def test_an_hour_with_no_committed_snapshot_is_a_clean_skip():
    with pytest.raises(compaction.EmptyHour, match="nothing to compact"):
        compaction.check_hour(FakeTaskInstance({}), FakeS3([]), NAMES, HOUR, wait=True)


def test_verify_reconciles_compacted_read_back_and_recorded_rows():
    plan = compaction.plan(NAMES, HOUR, "run", 1)
    passed = {f"{checks.COLUMN_PREFIX}{check.name}": "0" for check in compaction.data_checks(plan)}
    row = {"compacted_rows": "10", "minutely_rows": "10", "committed_rows": "10", "committed_minutes": "2", **passed}
    assert compaction.check_counts(plan, row) == {"rows": 10, "minutes_present": 2}
    with pytest.raises(compaction.CompactionMismatch, match="commits recorded 11"):
        compaction.check_counts(plan, {**row, "committed_rows": "11"})


def test_verify_names_every_data_check_the_hour_broke_and_one_the_query_left_out():
    plan = compaction.plan(NAMES, HOUR, "run", 1)
    passed = {f"{checks.COLUMN_PREFIX}{check.name}": "0" for check in compaction.data_checks(plan)}
    row = {"compacted_rows": "10", "minutely_rows": "10", "committed_rows": "10", "committed_minutes": "2", **passed}
    row.update(check_not_null_icao24="2", check_unique_region_snapshot_time_icao24="1")
    del row["check_snapshot_in_hour"]
    with pytest.raises(checks.DataCheckFailed) as failed:
        compaction.check_counts(plan, row)
    assert str(failed.value) == (
        "compacted hour 2026-03-01T14:00:00+00:00: 3 of 7 data checks failed: "
        "2 rows break 'icao24 is never null'; 1 key breaks '(region, snapshot_time, icao24) is unique'; "
        "the query gave no result for 'snapshot_time is in the hour'"
    )


@pytest.mark.parametrize(
    ("now", "late"),
    [
        (datetime(2026, 3, 1, 14, 59, 8, tzinfo=UTC), False),  # on time
        (datetime(2026, 3, 1, 15, 2, 59, tzinfo=UTC), False),  # the hour's compaction still waits for it
        (datetime(2026, 3, 1, 15, 3, tzinfo=UTC), True),  # compaction may have read the hour without it
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), True),  # a manual rerun the next day
    ],
)
def test_a_minute_committed_after_its_hour_asks_for_a_recompaction(now, late):
    assert lateness.is_late(datetime(2026, 3, 1, 14, 59, tzinfo=UTC), now) is late


class FakeMwaa:
    def create_cli_token(self, Name):
        assert Name == "flightdata-dev"
        return {"CliToken": "token-1", "WebServerHostname": "abc.airflow.eu-west-1.on.aws"}


class RecordingSession:
    """Stands in for requests: records the call, answers as the MWAA CLI endpoint does."""

    def __init__(self, stderr: str = "") -> None:
        self.calls: list[dict] = []
        self.stderr = stderr

    def post(self, url, headers, data, timeout):
        self.calls.append({"url": url, "headers": headers, "data": data})
        stdout = base64.b64encode(b"Performing cleanup\n").decode()
        return FakeResponse({"stdout": stdout, "stderr": base64.b64encode(self.stderr.encode()).decode()})


class FakeResponse:
    status_code = 200
    text = ""

    def __init__(self, document):
        self.document = document

    def json(self):
        return self.document


def test_on_mwaa_the_clean_goes_through_the_cli_endpoint():
    session = RecordingSession()
    before = datetime(2026, 1, 1, tzinfo=UTC)

    result = retention.clean_on_mwaa(FakeMwaa(), "flightdata-dev", before, session)

    (call,) = session.calls
    assert call["url"] == "https://abc.airflow.eu-west-1.on.aws/aws_mwaa/cli"
    assert call["headers"]["Authorization"] == "Bearer token-1"
    assert call["data"].startswith("db clean --clean-before-timestamp 2026-01-01T00:00:00+00:00 --tables dag_run,")
    assert call["data"].endswith("--skip-archive --yes")
    assert "Performing cleanup" in result.output


def test_a_failed_clean_on_mwaa_fails_the_task():
    session = RecordingSession(stderr="Traceback (most recent call last):\n  boom\n")
    with pytest.raises(retention.RetentionError, match="boom"):
        retention.clean_on_mwaa(FakeMwaa(), "flightdata-dev", datetime(2026, 1, 1, tzinfo=UTC), session)


def test_retention_keeps_at_least_a_day():
    with pytest.raises(ValueError, match="at least 1"):
        retention.cutoff(datetime(2026, 1, 1, tzinfo=UTC), 0)


def test_late_minutes_of_an_hour_share_one_recompaction_per_ten_minutes():
    hour_end = datetime(2026, 3, 1, 15, tzinfo=UTC)
    first = lateness.recompaction(datetime(2026, 3, 1, 14, 1, tzinfo=UTC), hour_end + timedelta(minutes=20))
    same = lateness.recompaction(datetime(2026, 3, 1, 14, 59, tzinfo=UTC), hour_end + timedelta(minutes=21))
    later = lateness.recompaction(datetime(2026, 3, 1, 14, 59, tzinfo=UTC), hour_end + timedelta(minutes=31))

    assert first == same
    assert first["run_id"].startswith("recompact__2026-03-01T14__")
    assert first["hour"] == "2026-03-01T14"
    assert later["run_id"] != first["run_id"]
    assert lateness.recompaction(datetime(2026, 3, 1, 14, 59, tzinfo=UTC), hour_end) is None


def test_a_run_without_a_logical_date_fetches_the_minute_it_was_due():
    due = datetime(2026, 3, 1, 14, 7, 31, tzinfo=UTC)
    assert minutely.snapshot_minute(None, due) == datetime(2026, 3, 1, 14, 7, tzinfo=UTC)
    assert minutely.snapshot_minute(due - timedelta(hours=1), due) == datetime(2026, 3, 1, 13, 7, tzinfo=UTC)


def test_runs_triggered_without_a_logical_date_still_plan_their_hour_and_day():
    """Airflow 3 triggers manual runs (UI, CLI, TriggerDagRunOperator) with no logical date;
    the soak's triggered daily report failed on that ('NoneType' has no 'tzinfo')."""
    assert compaction.hour_to_compact(None, "2026-03-01T14") == datetime(2026, 3, 1, 14, tzinfo=UTC)
    assert plan_day(None, "2026-03-01")["day"] == "2026-03-01"
    now = datetime.now(UTC)
    assert compaction.hour_to_compact(None, None) <= now - timedelta(hours=1)
    assert plan_day(None, None)["day"] == f"{now - timedelta(days=1):%Y-%m-%d}"


def test_report_sql_reads_the_day_from_macros_not_from_another_tasks_xcom():
    # GIVEN the daily report's SQL file, rendered as Airflow renders it: the run's context
    from flightdata.orchestration.templating import SQL_DIR, TemplateFacts, sql_templates

    template = sql_templates().get_template("report_aircraft_by_country.sql")
    run = type("DagRun", (), {"run_after": MINUTE})()

    # WHEN it is rendered for a scheduled run, a run with a day param, and a run without a logical date
    scheduled = template.render(fd=TemplateFacts(NAMES), params={"day": None}, logical_date=MINUTE, dag_run=run)
    chosen = template.render(fd=TemplateFacts(NAMES), params={"day": "2026-01-05"}, logical_date=MINUTE, dag_run=run)
    manual = template.render(fd=TemplateFacts(NAMES), params={"day": None}, logical_date=None, dag_run=run)

    # THEN each reads the table and the day it should; no task's XCom is involved
    assert "FROM flightdata_test.curated_hourly" in scheduled
    assert "year = '2026' AND month = '02' AND day = '28'" in scheduled
    assert "year = '2026' AND month = '01' AND day = '05'" in chosen
    assert manual == scheduled
    assert [f.name for f in Path(SQL_DIR).glob("report_*.sql") if "xcom_pull" in f.read_text()] == []
    with pytest.raises(KeyError, match="no such table"):
        TemplateFacts(NAMES).table("departures")


@pytest.mark.parametrize("value", ["0", "61", "1.5", "soon"])
def test_the_athena_poll_interval_must_be_whole_seconds_from_1_to_60(monkeypatch, value):
    from flightdata.orchestration import queries

    monkeypatch.setenv(queries.ATHENA_POLL_ENV_VAR, value)
    with pytest.raises(ValueError, match="ATHENA_POLL_SECONDS must be a whole number of seconds"):
        queries.athena_poll_seconds()
    monkeypatch.setenv(queries.ATHENA_POLL_ENV_VAR, "2")
    assert queries.athena_poll_seconds() == 2
    monkeypatch.delenv(queries.ATHENA_POLL_ENV_VAR)
    assert queries.athena_poll_seconds() == 5


def test_report_csv_cells_a_spreadsheet_would_run_are_neutralised():
    # GIVEN a country name that is a spreadsheet formula (it passes validation: any text does)
    rows = [
        {"origin_country": "=cmd|' /C calc'!A0", "aircraft": "3", "mean_vertical_rate": "-1.25"},
        {"origin_country": "@SUM(A1:A9)", "aircraft": "+2", "mean_vertical_rate": "-3e2"},
        {"origin_country": "-1+cmd", "aircraft": "1", "mean_vertical_rate": None},
        {"origin_country": "\tTab", "aircraft": "1", "mean_vertical_rate": "\r=1"},
    ]

    text = to_csv(rows)

    # THEN formula-like text starts with a quote, and numbers (negative ones too) stay numbers
    cells = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [c[0] for c in cells] == ["'=cmd|' /C calc'!A0", "'@SUM(A1:A9)", "'-1+cmd", "'\tTab"]
    assert [c[1] for c in cells] == ["3", "+2", "1", "1"]
    assert [c[2] for c in cells] == ["-1.25", "-3e2", "", "'\r=1"]


def test_a_missed_deadline_is_logged_and_published_for_its_dag_and_over_all_dags(monkeypatch, caplog):
    from flightdata.orchestration import aws, deadlines

    published: list = []
    monkeypatch.setattr(aws, "put_metrics", lambda data: published.extend(data) or len(data))
    with caplog.at_level("WARNING"):
        deadlines.missed({"dag_run": {"run_id": "scheduled__x"}}, dag_id="opensky_state_vectors", within_s=300)

    assert "deadline missed: opensky_state_vectors run scheduled__x had not finished 0:05:00" in caplog.text
    assert published == [
        {
            "MetricName": "DeadlineMissed",
            "Value": 1,
            "Unit": "Count",
            "Dimensions": [{"Name": "dag_id", "Value": "opensky_state_vectors"}],
        },
        {"MetricName": "DeadlineMissed", "Value": 1, "Unit": "Count"},
    ]


def test_airflow_dags_test_parses_the_dags_without_deadlines(monkeypatch):
    # apache/airflow#73428: on 3.3, `airflow dags test` exits 1 after a successful run of a DAG
    # with a deadline; the integration test runs that command for real
    from flightdata.orchestration import compat

    monkeypatch.setattr(compat.sys, "argv", ["airflow", "dags", "test", "opensky_state_vectors"])
    assert compat.deadline_alert("d", timedelta(minutes=5), "m.f") == {}
    monkeypatch.setattr(compat.sys, "argv", ["airflow", "dag-processor"])
    assert bool(compat.deadline_alert("d", timedelta(minutes=5), "m.f")) == compat.has_deadline_alerts()


class Returned:
    """A task instance key whose xcom_pull answers what each task returned."""

    def __init__(self, task_id: str, returned: dict[str, object]) -> None:
        self.task_id, self.map_index, self.returned = task_id, 0, returned

    def xcom_pull(self, task_ids: str, map_indexes: int) -> object:
        return self.returned.get(task_ids)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"region_name": "eu-west-1"},
            {
                "Raw snapshot": "https://eu-west-1.console.aws.amazon.com/s3/object/flightdata-test-lake?"
                "region=eu-west-1&bucketType=general&prefix=raw%2Fx.json.gz",
                "Objects written": "https://eu-west-1.console.aws.amazon.com/s3/object/flightdata-test-lake?"
                "region=eu-west-1&bucketType=general&prefix=processed%2Fp.parquet",
                "Athena query": "https://eu-west-1.console.aws.amazon.com/athena/home?region=eu-west-1"
                "#/query-editor/history/q-1",
                "Report": "https://eu-west-1.console.aws.amazon.com/s3/object/flightdata-test-lake?"
                "region=eu-west-1&bucketType=general&prefix=reports%2Fdate%3D2026-03-01%2Freport.html",
                "Quality dashboard": "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
                "#dashboards/dashboard/flightdata-test",
            },
        ),
        (
            {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:4566"},
            {
                "Raw snapshot": "/flightdata/lake?key=raw%2Fx.json.gz",
                "Objects written": "/flightdata/lake?key=processed%2Fp.parquet&key=quarantine%2Fq.parquet"
                "&key=commits%2Fc.parquet",
                "Athena query": "/flightdata/query/q-1",
                "Report": "/flightdata/report/2026-03-01",
                "Quality dashboard": "/flightdata/",
            },
        ),
    ],
    ids=["aws-console", "local-plugin-pages"],
)
def test_task_links_lead_to_the_console_on_aws_and_to_the_plugin_pages_locally(monkeypatch, extra, expected):
    from flightdata.orchestration import links

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": extra}))
    monkeypatch.setenv("FLIGHTDATA_PREFIX", NAMES.prefix)
    returned = {
        "ingest": {"raw_key": "raw/x.json.gz"},
        "transform": {
            "keys": {
                "commit": "commits/c.parquet",
                "processed": "processed/p.parquet",
                "quarantine": "quarantine/q.parquet",
            }
        },
        "compact": "q-1",
        "plan": {"day": "2026-03-01", "prefix": "reports/date=2026-03-01/"},
    }
    tasks = {"Raw snapshot": "ingest", "Objects written": "transform", "Athena query": "compact"}
    found = {
        link.name: link().get_link(None, ti_key=Returned(tasks.get(link.name, "publish_report"), returned))
        for link in links.LINKS
    }
    assert found == expected
    assert links.destinations().serves_lake_views is ("endpoint_url" in extra)
    # a task that wrote nothing has no link
    assert links.RawSnapshotLink().get_link(None, ti_key=Returned("ingest", {})) == ""
