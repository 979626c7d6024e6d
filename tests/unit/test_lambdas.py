"""Both Lambda handlers against moto's S3 and Secrets Manager and the OpenSky simulator."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import boto3
import orjson
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from flightdata.etl.parse import MalformedSnapshotError
from flightdata.lambdas import ingestion, transformation
from flightdata.lambdas.events import InvalidEventError
from flightdata.opensky.errors import SourceUnavailableError
from opensky_sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

BUCKET = "flightdata-test-lake"


class LambdaContext:
    function_name = "flightdata-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:flightdata-test"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 50_000


@pytest.fixture(autouse=True)
def fresh_ingestion_cache():
    ingestion.reset_caches()
    yield
    ingestion.reset_caches()


@pytest.fixture
def lake(aws_env, monkeypatch, opensky_sim):
    monkeypatch.setenv("LAKE_BUCKET", BUCKET)
    monkeypatch.setenv("OPENSKY_BASE_URL", opensky_sim.url)
    monkeypatch.delenv("OPENSKY_SECRET_NAME", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield s3


def recent_minute() -> str:
    return (datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)).isoformat()


def test_ingestion_lands_the_raw_snapshot_gzipped(lake, fixture_json):
    event = {**fixture_json("events/ingestion_global.json"), "snapshot_time": recent_minute()}

    result = ingestion.handler(event, LambdaContext())

    raw = gzip.decompress(lake.get_object(Bucket=BUCKET, Key=result["raw_key"])["Body"].read())
    assert result["status"] == "ok"
    assert result["records"] == len(orjson.loads(raw)["states"]) > 5_000  # of 12,000 aircraft, those on the air
    assert result["credits_remaining"] == 400 - 4
    assert result["raw_key"].startswith("raw/year=")


def test_ingestion_reads_credentials_from_secrets_manager_and_asks_for_the_minute(lake, monkeypatch):
    boto3.client("secretsmanager").create_secret(
        Name="flightdata/opensky",
        SecretString=orjson.dumps({"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}).decode(),
    )
    monkeypatch.setenv("OPENSKY_SECRET_NAME", "flightdata/opensky")
    minute = recent_minute()

    result = ingestion.handler({"snapshot_time": minute}, LambdaContext())

    assert result["credits_remaining"] == 4000 - 4
    assert result["api_time"] == int(datetime.fromisoformat(minute).timestamp())


def test_ingestion_skips_cleanly_when_credits_would_cross_the_reserve(lake):
    event = {"snapshot_time": recent_minute(), "credits_remaining": 50, "credit_reserve": 48}

    result = ingestion.handler(event, LambdaContext())

    assert result["status"] == "skipped"
    assert "held in reserve" in result["reason"]
    assert lake.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "snapshot_time"),
        ({"snapshot_time": "yesterday"}, "snapshot_time"),
        ({"snapshot_time": "2026-01-01T00:00:00Z", "region": "Europe West"}, "region"),
        ({"snapshot_time": "2026-01-01T00:00:00Z", "region": "europe\n"}, "region"),
        ({"snapshot_time": "2026-01-01T00:00:00Z", "bbox": {"lamin": 1}}, "bbox"),
        ({"snapshot_time": "2026-01-01T00:00:00Z", "credit_reserve": -1}, "credit_reserve"),
    ],
)
def test_bad_ingestion_events_name_the_field(lake, event, field):
    with pytest.raises(InvalidEventError, match=f"'{field}['.]"):  # the field, or a field within it
        ingestion.handler(event, LambdaContext())


def test_etl_turns_the_raw_snapshot_into_processed_and_quarantine(lake, fixture_json):
    landed = ingestion.handler({"snapshot_time": recent_minute()}, LambdaContext())

    result = transformation.handler(
        {"raw_key": landed["raw_key"], "snapshot_time": landed["snapshot_time"]}, LambdaContext()
    )

    def read(kind):
        return pq.read_table(io.BytesIO(lake.get_object(Bucket=BUCKET, Key=result["keys"][kind])["Body"].read()))

    processed, quarantine = read("processed"), read("quarantine")
    assert result["records"] == landed["records"] == processed.num_rows + quarantine.num_rows
    assert result["valid"] == processed.num_rows
    assert 0.95 < result["quality_score"] < 1


def test_etl_rejects_a_key_outside_raw(lake, fixture_json):
    event = {**fixture_json("events/transform.json"), "raw_key": "processed/x.parquet"}

    with pytest.raises(InvalidEventError, match="'raw_key'"):
        transformation.handler(event, LambdaContext())


def test_an_opensky_outage_lands_nothing_and_names_the_cause(lake, opensky_sim):
    opensky_sim.simulator.add_fault("503", count=100)
    event = {"snapshot_time": recent_minute(), "time_budget_s": 3}

    with pytest.raises(SourceUnavailableError, match="HTTP 503"):
        ingestion.handler(event, LambdaContext())
    assert lake.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_a_malformed_raw_snapshot_fails_the_etl_and_writes_nothing(lake):
    key = "raw/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.json.gz"
    lake.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(b'{"time": 1767225600, "states": [["a1b2c3",'))

    with pytest.raises(MalformedSnapshotError, match="not JSON"):
        transformation.handler({"raw_key": key, "snapshot_time": "2026-01-01T00:00:00Z"}, LambdaContext())
    assert [o["Key"] for o in lake.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]  # the raw stays for replay


@pytest.mark.parametrize("module", ["ingestion", "transformation"])
def test_the_handlers_log_under_the_service_name_their_environment_gives(module):
    """The stack sets POWERTOOLS_SERVICE_NAME to each function's name; a name written in the
    code would override it, and the logs of two deployments would look alike."""
    probe = f"from flightdata.lambdas import {module}; print({module}.logger.service)"
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "flightdata-prod-" + module}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "flightdata-prod-" + module
