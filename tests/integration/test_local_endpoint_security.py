"""The local endpoint runs code, so it only takes requests signed with its own key, builds no
path from an unchecked name, and answers no web page (no CORS)."""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import os
import stat
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from localaws import credentials
from localaws.clients import local_client

REGION = "eu-west-1"
# A handler that would prove it ran by leaving a file behind.
EVIL = "import pathlib\ndef handler(event, context):\n    pathlib.Path(event['proof']).write_text('ran')\n"


def package(source: str = EVIL) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.py", source)
    return buffer.getvalue()


def create_function_body(name: str) -> str:
    return json.dumps(
        {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": "arn:aws:iam::123456789012:role/x",
            "Handler": "evil.handler",
            "Code": {"ZipFile": base64.b64encode(package()).decode()},
        }
    )


def test_the_credentials_file_is_private_and_names_a_random_key(local_aws):
    path = local_aws.credentials_file
    mode = stat.S_IMODE(os.stat(path).st_mode)

    assert mode == 0o600
    text = path.read_text()
    assert text.startswith("[default]\n")
    assert local_aws.app.key.access_key in text
    assert local_aws.app.key.access_key.startswith("AKIA")
    assert len(local_aws.app.key.secret_key) == 40


def test_an_unsigned_text_plain_post_creates_and_runs_nothing(local_aws, tmp_path):
    """The attack a web page could make: a 'simple' request, no preflight, no credentials."""
    proof = tmp_path / "proof"
    created = requests.post(
        f"{local_aws.url}/2015-03-31/functions",
        data=create_function_body("drive-by"),
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
        timeout=10,
    )
    invoked = requests.post(
        f"{local_aws.url}/2015-03-31/functions/drive-by/invocations",
        data=json.dumps({"proof": str(proof)}),
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
        timeout=10,
    )

    assert created.status_code == 403
    assert created.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert invoked.status_code == 403
    assert not proof.exists()
    assert not (local_aws.app.state_dir / "lambda" / REGION / "drive-by").exists()
    assert not [h for h in created.headers if h.lower().startswith("access-control-")]


def test_no_answer_carries_cors_headers(aws, local_aws):
    aws("s3").create_bucket(Bucket="cors-probe", CreateBucketConfiguration={"LocationConstraint": REGION})
    preflight = requests.options(
        f"{local_aws.url}/cors-probe",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )
    listing = requests.get(f"{local_aws.url}/cors-probe", headers={"Origin": "http://evil.example"}, timeout=10)

    for response in (preflight, listing):
        assert response.status_code == 403
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def wrong_clients(local_aws, service: str) -> dict[str, object]:
    key = local_aws.app.key
    return {
        "wrong secret": boto3.client(
            service,
            endpoint_url=local_aws.url,
            region_name=REGION,
            aws_access_key_id=key.access_key,
            aws_secret_access_key="not-the-secret",
        ),
        "unknown key": boto3.client(
            service,
            endpoint_url=local_aws.url,
            region_name=REGION,
            aws_access_key_id="AKIAUNKNOWNUNKNOWN00",
            aws_secret_access_key=key.secret_key,
        ),
    }


@pytest.mark.parametrize(
    ("service", "call", "codes"),
    [
        (
            "s3",
            lambda c: c.list_buckets(),
            {"wrong secret": "SignatureDoesNotMatch", "unknown key": "InvalidAccessKeyId"},
        ),
        (
            "glue",
            lambda c: c.get_databases(),
            {"wrong secret": "InvalidSignatureException", "unknown key": "UnrecognizedClientException"},
        ),
        (
            "lambda",
            lambda c: c.list_functions(),
            {"wrong secret": "InvalidSignatureException", "unknown key": "UnrecognizedClientException"},
        ),
        (
            "sts",
            lambda c: c.get_caller_identity(),
            {"wrong secret": "SignatureDoesNotMatch", "unknown key": "InvalidClientTokenId"},
        ),
    ],
)
def test_a_wrongly_signed_request_gets_aws_error_shape(local_aws, service, call, codes):
    for case, client in wrong_clients(local_aws, service).items():
        with pytest.raises(ClientError) as error:
            call(client)
        assert error.value.response["Error"]["Code"] == codes[case], case


def test_a_signed_request_with_a_tampered_body_is_refused(local_aws, aws):
    """The signature covers the payload: change one byte after signing and it fails."""
    glue = aws("glue")

    def tamper(request, **_):
        request.body = request.body.replace(b"honest", b"forged")

    glue.meta.events.register("before-send.glue.CreateDatabase", tamper)
    with pytest.raises(ClientError) as error:
        glue.create_database(DatabaseInput={"Name": "honest"})
    assert error.value.response["Error"]["Code"] == "InvalidSignatureException"
    names = [d["Name"] for d in aws("glue").get_databases()["DatabaseList"]]
    assert "forged" not in names
    assert "honest" not in names


TRAVERSALS = ["../../victim", "..", "a/../../b", "x\x00y", "name'; DROP", "a" * 65, "ünïcode"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_a_function_name_never_becomes_a_path(aws, local_aws, tmp_path, name):
    victim = local_aws.app.state_dir.parent / "victim"
    victim.mkdir(exist_ok=True)
    (victim / "keep").write_text("precious")
    lam = aws("lambda")

    for call in (
        lambda: lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/x",
            Handler="evil.handler",
            Code={"ZipFile": package()},
        ),
        lambda: lam.delete_function(FunctionName=name),
        lambda: lam.invoke(FunctionName=name, Payload=b"{}"),
    ):
        with pytest.raises((ClientError, Exception)) as error:
            call()
        if isinstance(error.value, ClientError):
            assert error.value.response["Error"]["Code"] in ("ValidationException", "ResourceNotFoundException")
    assert (victim / "keep").read_text() == "precious"
    # (other tests of the session may have made functions in other regions: region folders only)
    from localaws.auth import known_regions

    assert {p.name for p in (local_aws.app.state_dir / "lambda").iterdir()} <= known_regions()


def test_code_download_urls_need_their_token(aws, local_aws):
    aws("lambda").create_function(
        FunctionName="downloadable",
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/x",
        Handler="evil.handler",
        Code={"ZipFile": package()},
    )
    location = aws("lambda").get_function(FunctionName="downloadable")["Code"]["Location"]

    assert requests.get(location, timeout=10).content == package()
    assert requests.get(location.split("?")[0], timeout=10).status_code == 403
    assert requests.get(location.split("?")[0] + "?token=" + "0" * 64, timeout=10).status_code == 403


def test_a_code_download_url_expires_and_dies_with_the_code_it_named(aws, local_aws, monkeypatch):
    lam = create_function(aws, "rotated")
    location = lam.get_function(FunctionName="rotated")["Code"]["Location"]
    assert requests.get(location, timeout=10).status_code == 200

    # WHEN the function's code changes, THEN the old URL no longer gives any code
    lam.update_function_code(FunctionName="rotated", ZipFile=package("def handler(event, context):\n    return 1\n"))
    assert requests.get(location, timeout=10).status_code == 403
    fresh = lam.get_function(FunctionName="rotated")["Code"]["Location"]
    assert requests.get(fresh, timeout=10).status_code == 200

    # AND ten minutes later the fresh one has expired too (the endpoint's clock, moved on)
    import localaws.server

    real_time = localaws.server.time.time
    monkeypatch.setattr(localaws.server.time, "time", lambda: real_time() + 601)
    assert requests.get(fresh, timeout=10).status_code == 403


def create_function(aws, name: str):
    lam = aws("lambda")
    document = json.loads(create_function_body(name))
    lam.create_function(**{**document, "Code": {"ZipFile": package()}})
    return lam


def _signed(local_aws, url: str, body: bytes, service: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of a POST of ``body`` to ``url`` signed with the endpoint's key for
    ``service``'s scope."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key = local_aws.app.key
    request = AWSRequest(method="POST", url=url, data=body, headers=headers or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(key.access_key, key.secret_key), service, REGION).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("scope", ["sts", "glue", "execute-api", "s3"])
def test_a_signature_scoped_to_another_service_does_not_call_lambda(aws, local_aws, tmp_path, scope):
    # GIVEN a function, and an invoke signed with the right key but for another service
    create_function(aws, f"scoped-{scope.replace('-', '')}")
    proof = tmp_path / "proof"
    url = f"{local_aws.url}/2015-03-31/functions/scoped-{scope.replace('-', '')}/invocations"
    headers = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"} if scope == "s3" else {}
    body = json.dumps({"proof": str(proof)}).encode()
    # (with s3's UNSIGNED-PAYLOAD, the body could even be swapped after signing)
    signed = _signed(local_aws, url, b"{}" if scope == "s3" else body, scope, headers)

    answer = requests.post(url, data=body, headers=signed, timeout=30)

    # THEN AWS's refusal, and nothing ran
    assert answer.status_code == 403, answer.text
    assert answer.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert "Credential should be scoped to correct service: 'lambda'" in answer.json()["message"]
    assert not proof.exists()


def test_a_body_past_the_services_limit_is_refused_before_it_is_read(aws, local_aws):
    lam = create_function(aws, "too-large")

    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName="too-large", Payload=b'{"x":"' + b"a" * (6 * 1024 * 1024) + b'"}')

    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "smaller than 6291456 bytes" in error.value.response["Error"]["Message"]


@contextlib.contextmanager
def endpoint_process(state_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``flightdata-local serve`` as a process of its own, as ``make up`` runs it."""
    from flightdata_local.services import BIN, free_port, wait_ready

    port = free_port()
    log = state_dir.parent / f"{state_dir.name}.log"
    with log.open("wb") as out:
        endpoint = subprocess.Popen(
            [str(BIN / "flightdata-local"), "serve", "--port", str(port), "--state-dir", str(state_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", endpoint, "local AWS endpoint", log)
        yield f"http://127.0.0.1:{port}", endpoint
    finally:
        endpoint.terminate()
        endpoint.wait(timeout=10)


def test_unsigned_huge_posts_are_refused_without_reading_them(tmp_path):
    """Four unsigned 256 MiB POSTs against an endpoint process: it answers each from the
    headers, and its peak memory (VmHWM) stays where it was (it grew by each body before)."""
    with endpoint_process(tmp_path / "state") as (url, endpoint):
        requests.get(f"{url}/", timeout=10)  # warm: the first answer imports more
        time.sleep(0.5)

        def peak_mb() -> float:
            status = Path(f"/proc/{endpoint.pid}/status").read_text()
            return int(status.split("VmHWM:")[1].split()[0]) / 1024

        before = peak_mb()
        size = 256 * 1024 * 1024
        chunk = b"\0" * (1 << 20)
        answers = []
        for _ in range(4):
            try:
                answer = requests.post(
                    f"{url}/2015-03-31/functions",
                    data=(chunk for _ in range(size // len(chunk))),
                    headers={"Content-Length": str(size), "Content-Type": "application/json"},
                    timeout=60,
                )
                answers.append(answer.status_code)
            except requests.ConnectionError:  # the endpoint answered and closed before the body was sent
                answers.append("closed")
        after = peak_mb()

    assert all(a in (403, "closed") for a in answers), answers
    assert after - before < 64, (before, after)


def test_the_state_the_endpoint_writes_is_private(tmp_path):
    """The key pair, the journal, functions' code and query results: 0700 folders, 0600 files,
    also for a state dir an older endpoint left readable."""
    state = tmp_path / "state"
    (state / "lambda").mkdir(parents=True, mode=0o755)
    (state / "lambda" / "old-file").write_text("from before")
    os.chmod(state / "lambda" / "old-file", 0o644)
    with endpoint_process(state) as (url, _):
        key = credentials.read(credentials.credentials_file(state))
        aws = functools.partial(local_client, endpoint_url=url, region=REGION, key=key)
        aws("s3").create_bucket(Bucket="private", CreateBucketConfiguration={"LocationConstraint": REGION})
        aws("s3").put_object(Bucket="private", Key="a", Body=b"lake")
        aws("lambda").create_function(**{**json.loads(create_function_body("private")), "Code": {"ZipFile": package()}})
        athena = aws("athena")
        query = athena.start_query_execution(
            QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "s3://private/results/"}
        )["QueryExecutionId"]
        while athena.get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]["State"] in (
            "QUEUED",
            "RUNNING",
        ):
            time.sleep(0.2)

    paths = [state, *state.rglob("*")]
    assert {"lambda", "athena", "journal", "objects"} <= {p.name for p in paths}
    loose = [
        (str(p.relative_to(tmp_path)), oct(stat.S_IMODE(p.lstat().st_mode))) for p in paths if p.lstat().st_mode & 0o077
    ]
    assert loose == []


def zipped(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_code_past_lambdas_unzipped_limit_is_refused_and_nothing_is_unpacked(aws, local_aws):
    # GIVEN a zip of under a megabyte that unpacks to 300 MB of zeros
    bomb = zipped([("evil.py", EVIL.encode()), ("zeros.bin", bytes(300 * 1024 * 1024))])
    assert len(bomb) < 1024 * 1024
    lam = aws("lambda")
    document = json.loads(create_function_body("bomb"))

    with pytest.raises(ClientError) as error:
        lam.create_function(**{**document, "Code": {"ZipFile": bomb}})

    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Unzipped size must be smaller than 262144000 bytes" in error.value.response["Error"]["Message"]
    assert not list((local_aws.app.state_dir / "lambda" / REGION).glob("bomb*"))


def test_a_zip_that_cannot_be_unpacked_is_refused_and_leaves_nothing_behind(aws, local_aws):
    # GIVEN a zip with a file 'lnk' and then a file 'lnk/x' under it
    broken = zipped([("evil.py", EVIL.encode()), ("lnk", b"a file"), ("lnk/x", b"under a file")])
    lam = aws("lambda")
    document = json.loads(create_function_body("unpackable"))

    with pytest.raises(ClientError) as error:
        lam.create_function(**{**document, "Code": {"ZipFile": broken}})

    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not list((local_aws.app.state_dir / "lambda" / REGION).glob("unpackable*"))


def test_code_past_lambdas_zipped_limit_is_refused(aws, local_aws):
    big = zipped([("evil.py", EVIL.encode())]) + os.urandom(51 * 1024 * 1024)  # a zip with trailing bytes
    create = json.loads(create_function_body("too-big"))
    with pytest.raises(ClientError) as error:
        aws("lambda").create_function(**{**create, "Code": {"ZipFile": big}})

    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"


def test_a_work_group_that_does_not_exist_is_athenas_invalid_request(aws):
    athena = aws("athena")
    for call in (
        lambda: athena.start_query_execution(
            QueryString="SELECT 1", WorkGroup="nope", ResultConfiguration={"OutputLocation": "s3://x/y/"}
        ),
        lambda: athena.list_query_executions(WorkGroup="nope"),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "InvalidRequestException"
        assert error.value.response["Error"]["Message"] == "WorkGroup nope is not found."


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("glue", lambda c: c.get_databases(), "InvalidSignatureException"),
        ("athena", lambda c: c.list_work_groups(), "InvalidSignatureException"),
        ("lambda", lambda c: c.list_functions(), "InvalidSignatureException"),
        ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch"),
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
    ],
)
def test_a_region_that_does_not_exist_gets_an_error_in_the_protocols_shape(local_aws, service, call, code):
    key = local_aws.app.key
    client = boto3.client(
        service,
        endpoint_url=local_aws.url,
        region_name="xx-fake-9",
        aws_access_key_id=key.access_key,
        aws_secret_access_key=key.secret_key,
    )
    with pytest.raises(ClientError) as error:
        call(client)
    assert error.value.response["Error"]["Code"] == code
    assert "valid region" in error.value.response["Error"]["Message"]


def test_half_sent_connections_hold_a_bounded_number_of_threads_for_a_bounded_time(tmp_path):
    """1,000 connections that send half a request line and stop: they held 1,003 threads for
    over a minute. Now at most LOCALAWS_MAX_CONNECTIONS threads, each for one read timeout
    (2 s here), and the endpoint answers again once they are gone."""
    import socket

    import psutil

    with endpoint_process(tmp_path / "state", LOCALAWS_READ_TIMEOUT_S="2", LOCALAWS_MAX_CONNECTIONS="64") as (
        url,
        endpoint,
    ):
        process = psutil.Process(endpoint.pid)
        port = int(url.rsplit(":", 1)[1])
        baseline = process.num_threads()
        sockets = []
        for _ in range(1000):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n")  # and nothing more
            sockets.append(conn)
        peak = 0
        for _ in range(20):  # the threads while the connections stay open
            peak = max(peak, process.num_threads())
            time.sleep(0.05)
        deadline = time.monotonic() + 20  # one 2 s read timeout, with room for a busy machine
        while (after := process.num_threads()) > baseline + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        answer = requests.get(f"{url}/", timeout=10)
        for conn in sockets:
            conn.close()

    assert peak <= baseline + 64, (baseline, peak)
    assert after <= baseline + 2, (baseline, after)
    assert answer.status_code == 403  # unsigned, but answered


def test_a_body_that_drips_is_refused_at_its_deadline(tmp_path):
    """A signed request whose body arrives a byte at a time: each read is quick, the whole is
    refused after LOCALAWS_BODY_SECONDS (2 s here) plus a second per MiB."""
    import socket

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    with endpoint_process(tmp_path / "state", LOCALAWS_BODY_SECONDS="2") as (url, _):
        key = credentials.read(credentials.credentials_file(tmp_path / "state"))
        body = json.dumps({"DatabaseInput": {"Name": "dripped" + "x" * 100}}).encode()
        request = AWSRequest(
            method="POST",
            url=f"{url}/",
            data=body,
            headers={"X-Amz-Target": "AWSGlue.CreateDatabase", "Content-Type": "application/x-amz-json-1.1"},
        )
        SigV4Auth(Credentials(key.access_key, key.secret_key), "glue", REGION).add_auth(request)
        head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        conn = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=30)
        conn.sendall(f"POST / HTTP/1.1\r\nHost: {url[7:]}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode())
        started = time.monotonic()
        answer = b""
        for byte in body:
            try:
                conn.sendall(bytes((byte,)))
            except OSError:
                break
            time.sleep(0.1)
            conn.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                answer += conn.recv(65536)
            conn.setblocking(True)
            if answer:
                break
        elapsed = time.monotonic() - started
        conn.close()

    assert b" 400 " in answer.split(b"\r\n", 1)[0], answer[:200]
    assert b"RequestTimeout" in answer
    assert elapsed < 8  # its deadline is 2 s; the whole body would take 12 s
