"""OpenSky unreachable or refusing: typed errors that say what to do, caused for real (a
closed port, a TCP reset, a 403), and the way around it: the caller's own proxy."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from flightdata.opensky.api import Endpoints
from flightdata.opensky.client import ClientCredentials, OpenSkyClient
from flightdata.opensky.errors import OpenSkyForbidden, OpenSkyUnreachable, SourceUnavailableError
from opensky_sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

CREDENTIALS = ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)


class LambdaContext:
    function_name = "flightdata-test-ingestion"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:flightdata-test-ingestion"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 50_000


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ForwardingProxy(BaseHTTPRequestHandler):
    """A plain HTTP proxy: requests arrive with absolute URLs and are forwarded as they are."""

    seen: list[str] = []  # noqa: RUF012 - one per test, reset by the fixture

    def log_message(self, format, *args):  # quiet
        pass

    def _forward(self, method: str) -> None:
        ForwardingProxy.seen.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")}
        answer = requests.request(method, self.path, headers=headers, data=body, timeout=10)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("transfer-encoding", "connection", "content-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")


@pytest.fixture
def proxy() -> Iterator[str]:
    ForwardingProxy.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ForwardingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_refused_connection_is_opensky_unreachable_with_what_to_do():
    # GIVEN an OpenSky address where nothing listens
    client = OpenSkyClient(Endpoints.at(f"http://127.0.0.1:{closed_port()}"), sleep=lambda s: None)

    # WHEN a fetch is tried within a short budget
    with pytest.raises(OpenSkyUnreachable) as raised:
        client.fetch_states(time_budget_s=2)

    # THEN it is typed (and still a SourceUnavailableError), counts its tries and says what to do
    assert isinstance(raised.value, SourceUnavailableError)
    message = str(raised.value)
    assert "connection refused" in message
    assert "attempt(s)" in message
    assert "after 1 attempt(s)" not in message  # it was retried within the budget
    assert "proxy" in message
    assert "cloud providers" in message


def test_a_reset_connection_on_every_try_is_unreachable(opensky_sim):
    opensky_sim.simulator.add_fault("reset", count=50)
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), CREDENTIALS, sleep=lambda s: None)

    with pytest.raises(OpenSkyUnreachable, match="unreachable"):
        client.fetch_states(time_budget_s=2)


def test_one_reset_is_retried_and_the_fetch_succeeds(opensky_sim):
    opensky_sim.simulator.add_fault("reset")
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), CREDENTIALS, sleep=lambda s: None)

    fetched = client.fetch_states()

    assert fetched.attempts == 2
    assert fetched.record_count > 0


def test_a_403_is_opensky_forbidden_and_not_retried(opensky_sim):
    opensky_sim.simulator.add_fault("403", count=5)
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), CREDENTIALS, sleep=lambda s: None)
    served = opensky_sim.simulator.stats()["requests"]

    with pytest.raises(OpenSkyForbidden, match="403 Forbidden to these client credentials.*proxy"):
        client.fetch_states()

    assert opensky_sim.simulator.stats()["requests"] == served + 1


def test_every_request_goes_through_the_proxy_when_one_is_set(opensky_sim, proxy, monkeypatch):
    # GIVEN environment proxy settings that would send the request elsewhere
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), CREDENTIALS, https_proxy=proxy)

    fetched = client.fetch_states()

    # THEN the token and the states call both went through our proxy, and the data arrived
    assert fetched.record_count > 5_000  # of 12,000 simulated aircraft, those on the air
    assert any(path.endswith("/openid-connect/token") for path in ForwardingProxy.seen)
    assert any("/api/states/all" in path for path in ForwardingProxy.seen)


def test_a_proxy_that_is_down_is_unreachable_without_its_address_in_the_message(opensky_sim):
    secret_proxy = f"http://user:hunter2@127.0.0.1:{closed_port()}"
    client = OpenSkyClient(Endpoints.at(opensky_sim.url), https_proxy=secret_proxy, sleep=lambda s: None)

    with pytest.raises(OpenSkyUnreachable) as raised:
        client.fetch_states(time_budget_s=2)

    assert "hunter2" not in str(raised.value)


def test_the_ingestion_function_uses_the_proxy_named_in_its_secret(aws_env, monkeypatch, opensky_sim, proxy, caplog):
    # GIVEN the OpenSky secret with an https_proxy, as a user whose Lambda OpenSky blocks sets it
    from datetime import UTC, datetime, timedelta

    import boto3
    import orjson
    from moto import mock_aws

    from flightdata.lambdas import ingestion

    monkeypatch.setenv("LAKE_BUCKET", "flightdata-test-lake")
    monkeypatch.setenv("OPENSKY_BASE_URL", opensky_sim.url)
    monkeypatch.setenv("OPENSKY_SECRET_NAME", "flightdata/opensky")
    ingestion.reset_caches()
    with mock_aws():
        boto3.client("s3").create_bucket(
            Bucket="flightdata-test-lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        secret = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, "https_proxy": proxy}
        boto3.client("secretsmanager").create_secret(
            Name="flightdata/opensky", SecretString=orjson.dumps(secret).decode()
        )
        minute = (datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)).isoformat()

        # WHEN a minute is ingested
        result = ingestion.handler({"snapshot_time": minute}, LambdaContext())

    # THEN OpenSky was reached through the proxy, and the proxy's address is in no log line
    ingestion.reset_caches()
    assert result["status"] == "ok"
    assert any("/api/states/all" in path for path in ForwardingProxy.seen)
    assert proxy not in caplog.text


def test_a_blocked_minute_fails_and_is_counted_for_the_alarm(aws_env, monkeypatch, opensky_sim, capsys):
    # GIVEN OpenSky answering 403 to the ingestion function
    from datetime import UTC, datetime, timedelta

    from moto import mock_aws

    from flightdata.lambdas import ingestion
    from flightdata.resources import MetricName, Resources

    monkeypatch.setenv("LAKE_BUCKET", "flightdata-test-lake")
    monkeypatch.setenv("OPENSKY_BASE_URL", opensky_sim.url)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "flightdata-test-ingestion")
    monkeypatch.delenv("OPENSKY_SECRET_NAME", raising=False)
    opensky_sim.simulator.add_fault("403", count=5)
    ingestion.reset_caches()
    minute = (datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)).isoformat()

    # WHEN a minute is ingested
    with mock_aws(), pytest.raises(OpenSkyForbidden):
        ingestion.handler({"snapshot_time": minute}, LambdaContext())

    # THEN one OpenSkyBlocked data point went out in CloudWatch's embedded metric format
    import json

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line]
    assert [line[MetricName.OPENSKY_BLOCKED] for line in emf] == [[1.0]]  # powertools writes values as a list
    (directive,) = emf[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == Resources.from_env().metrics_namespace
    assert directive["Dimensions"] == [["service"]]
    assert emf[0]["service"] == "flightdata-test-ingestion"
    ingestion.reset_caches()
