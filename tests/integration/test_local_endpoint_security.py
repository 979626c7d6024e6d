"""The local endpoint runs code, so it only takes requests signed with its own key, builds no
path from an unchecked name, and answers no web page (no CORS)."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import zipfile

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

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
    assert sorted(p.name for p in (local_aws.app.state_dir / "lambda").iterdir()) in ([], [REGION])


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
