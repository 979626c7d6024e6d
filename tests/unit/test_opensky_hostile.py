"""OpenSky answering too much or too slowly, caused for real by the simulator: a 2 GiB
answer, a length announced and never sent, an answer that drips a byte at a time. The
client reads under a size cap and the budget's deadline; the process under attack is
measured (peak memory, time) and bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from flightdata.opensky.api import Endpoints
from flightdata.opensky.client import ClientCredentials, OpenSkyClient, body_limit
from flightdata.opensky.errors import ResponseTooLargeError, SourceUnavailableError
from opensky_sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.unit.test_opensky_blocked import LambdaContext

CREDENTIALS = ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
MB = 1 << 20

# Fetches once in a fresh process and reports the error and the process's memory.
ATTACKED = """
import json, resource, sys
from flightdata.opensky.api import Endpoints
from flightdata.opensky.client import ClientCredentials, OpenSkyClient
client = OpenSkyClient(Endpoints.at(sys.argv[1]), ClientCredentials(sys.argv[2], sys.argv[3]), max_attempts=1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    client.fetch_states(time_budget_s=60)
    error = None
except Exception as exc:
    error = [type(exc).__name__, str(exc)]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"error": error, "before": before, "peak": peak}))
"""


def attacked(url: str, memory_mb: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", ATTACKED, url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET],
        env={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_cap_is_a_sixteenth_of_the_functions_memory():
    assert body_limit({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}) == 32 * MB
    assert body_limit({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}) == 64 * MB
    assert body_limit({}) == 32 * MB


def test_a_2_gib_answer_is_refused_at_the_cap_and_memory_stays_bounded(opensky_sim):
    # GIVEN OpenSky streaming 2 GiB of rows, with no length announced, to a 512 MB function
    opensky_sim.simulator.add_fault("huge")

    report = attacked(opensky_sim.url, memory_mb=512)

    # THEN the fetch stops at the 32 MB cap with a typed error, and the process grew by
    # about the cap, not by the answer (it reached 4 GB before)
    assert report["error"][0] == "ResponseTooLargeError", report
    assert "larger than the 33,554,432 bytes" in report["error"][1]
    assert report["peak"] - report["before"] < 3 * 32 * MB, report


def test_an_announced_length_past_the_cap_is_refused_before_the_body(opensky_sim):
    opensky_sim.simulator.add_fault("huge_declared")
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), CREDENTIALS, max_body_bytes=32 * MB, max_attempts=1)

    with pytest.raises(ResponseTooLargeError, match="it announced 2,147,483,648 bytes"):
        client.fetch_states(time_budget_s=10)


def test_an_answer_that_drips_ends_at_the_budget_not_at_the_last_byte(opensky_sim):
    # GIVEN an answer that sends one byte every 0.2 s: each read is quick, the whole is not
    opensky_sim.simulator.add_fault("drip", delay_s=0.2)
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), CREDENTIALS, request_timeout_s=20)

    started = time.monotonic()
    with pytest.raises(SourceUnavailableError, match="did not arrive whole within the time budget"):
        client.fetch_states(time_budget_s=2)

    # THEN the fetch ends with its 2 s budget (a read takes at most 0.2 s here), not after
    # the body's hundreds of thousands of bytes
    assert time.monotonic() - started < 2 + 3  # with room for a busy machine


def test_the_ingestion_function_lands_nothing_from_an_answer_too_large(aws_env, monkeypatch, opensky_sim):
    import boto3
    from moto import mock_aws

    from flightdata.lambdas import ingestion

    monkeypatch.setenv("LAKE_BUCKET", "flightdata-test-lake")
    monkeypatch.setenv("OPENSKY_BASE_URL", opensky_sim.url)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")  # an 8 MB cap
    monkeypatch.delenv("OPENSKY_SECRET_NAME", raising=False)
    opensky_sim.simulator.add_fault("huge", count=5)
    ingestion.reset_caches()
    minute = (datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)).isoformat()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="flightdata-test-lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

        with pytest.raises(ResponseTooLargeError):
            ingestion.handler({"snapshot_time": minute}, LambdaContext())

        assert s3.list_objects_v2(Bucket="flightdata-test-lake").get("KeyCount") == 0
    ingestion.reset_caches()
