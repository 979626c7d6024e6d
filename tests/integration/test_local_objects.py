"""S3 bodies live in files under the state directory, once, and not in the endpoint's process."""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.moto_api._internal.models import moto_api_backend

from localaws.server import running

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def own_moto_state():
    """moto's backends are this process's: start from nothing, and leave nothing behind."""
    moto_api_backend.reset()
    yield
    moto_api_backend.reset()


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def stored_files(state_dir: Path) -> list[Path]:
    return [p for p in (state_dir / "objects").glob("*/*") if not p.name.startswith(".tmp-")]


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors in /proc")
def test_bodies_are_files_on_disk_not_open_buffers_in_the_process(tmp_path):
    with running(state_dir=tmp_path) as endpoint:
        s3 = endpoint.client("s3")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="lake", Key="warm-up", Body=b"w" * 70_000)
        before = open_descriptors()
        bodies = {f"minute/{n:03d}.parquet": os.urandom(64 * 1024) for n in range(100)}
        for key, body in bodies.items():
            s3.put_object(Bucket="lake", Key=key, Body=body)
        held = open_descriptors() - before

        # moto held each body past 16 KiB in an open temporary file: 100 descriptors here.
        assert held < 10
        assert s3.get_object(Bucket="lake", Key="minute/042.parquet")["Body"].read() == bodies["minute/042.parquet"]
        on_disk = {p.name for p in stored_files(tmp_path)}
        assert {hashlib.sha256(b).hexdigest() for b in bodies.values()} <= on_disk
        journal_bytes = sum(p.stat().st_size for p in (tmp_path / "journal").glob("*.body"))
        assert journal_bytes < 64 * 1024  # the bodies are on disk once, in the store


def test_a_copy_and_an_identical_body_share_one_file_and_overwritten_bodies_go(tmp_path):
    with running(state_dir=tmp_path) as endpoint:
        s3 = endpoint.client("s3")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="lake", Key="a", Body=b"same bytes" * 1000)
        s3.put_object(Bucket="lake", Key="b", Body=b"same bytes" * 1000)
        s3.copy_object(Bucket="lake", Key="c", CopySource="lake/a")
        assert len(stored_files(tmp_path)) == 1

        for n in range(5):
            s3.put_object(Bucket="lake", Key="minute", Body=b"version %d" % n)
        s3.delete_object(Bucket="lake", Key="b")
        endpoint.app.journal.compact()
        names = {p.name for p in stored_files(tmp_path)}
        assert names == {hashlib.sha256(b"same bytes" * 1000).hexdigest(), hashlib.sha256(b"version 4").hexdigest()}


def test_a_body_stored_by_a_request_that_never_committed_is_swept_at_start(tmp_path):
    with running(state_dir=tmp_path) as endpoint:
        s3 = endpoint.client("s3")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="lake", Key="kept", Body=b"kept")
    orphan = tmp_path / "objects" / "ab" / ("ab" + "0" * 62)  # stored, then the process died
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"never journalled")
    torn = tmp_path / "objects" / "ab" / ".tmp-0123"
    torn.write_bytes(b"half")

    moto_api_backend.reset()
    with running(state_dir=tmp_path) as endpoint:
        assert endpoint.client("s3").get_object(Bucket="lake", Key="kept")["Body"].read() == b"kept"
    assert not orphan.exists()
    assert not torn.exists()
    assert [p.name for p in stored_files(tmp_path)] == [hashlib.sha256(b"kept").hexdigest()]


def aws_chunked(body: bytes, chunk: int = 4096) -> bytes:
    """The aws-chunked framing other SDKs use for streaming uploads, with no trailer."""
    framed = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (body[i : i + chunk] for i in range(0, len(body), chunk))
    )
    return framed + b"0\r\n\r\n"


class StreamingAuth(S3SigV4Auth):
    """Signs the headers of a streaming upload, as SDKs do, leaving the chunks unsigned."""

    def payload(self, request: AWSRequest) -> str:
        return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def test_a_streaming_upload_is_stored_decoded_and_survives_a_restart(tmp_path):
    body = os.urandom(10_000)
    with running(state_dir=tmp_path) as endpoint:
        s3 = endpoint.client("s3")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": REGION})
        request = AWSRequest(
            method="PUT",
            url=f"{endpoint.url}/lake/streamed.bin",
            data=aws_chunked(body),
            headers={
                "Content-Encoding": "aws-chunked",
                "X-Amz-Decoded-Content-Length": str(len(body)),
            },
        )
        key = endpoint.app.key
        StreamingAuth(Credentials(key.access_key, key.secret_key), "s3", REGION).add_auth(request)
        prepared = request.prepare()
        answer = requests.put(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)
        assert answer.status_code == 200, answer.text
        assert s3.get_object(Bucket="lake", Key="streamed.bin")["Body"].read() == body

    moto_api_backend.reset()
    with running(state_dir=tmp_path) as endpoint:
        assert endpoint.client("s3").get_object(Bucket="lake", Key="streamed.bin")["Body"].read() == body


def test_bodies_made_outside_a_request_leave_nothing_behind_when_the_process_ends(tmp_path):
    """moto used in-process (tests, scripts) after the endpoint's patch stores bodies in a
    temporary store, removed at exit."""
    script = (
        "from localaws import objects\n"
        "objects.install()\n"
        "from moto.s3.models import FakeKey\n"
        "key = FakeKey('k', b'x' * 10, account_id='123456789012', region_name='eu-west-1')\n"
        "assert key.value == b'x' * 10\n"
        "print(objects._current().root)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    root = Path(done.stdout.strip())
    assert root.parent == tmp_path
    assert not root.exists()


def live(model: type, **attributes: str) -> list:
    """The objects of ``model`` still alive with these attributes (other tests' may be too)."""
    gc.collect()
    return [
        o
        for o in gc.get_objects()
        if type(o) is model and all(getattr(o, name, None) == value for name, value in attributes.items())
    ]


def test_the_endpoint_keeps_no_model_that_moto_itself_let_go(tmp_path):
    """moto's BaseModel keeps every instance it ever made; over months of minutes that is
    every deleted key and every refused partition, so the endpoint tracks them weakly."""
    from moto.glue.models import FakePartition
    from moto.s3.models import FakeKey

    with running(state_dir=tmp_path) as endpoint:
        s3, glue = endpoint.client("s3"), endpoint.client("glue")
        s3.create_bucket(Bucket="weak-lake", CreateBucketConfiguration={"LocationConstraint": REGION})
        glue.create_database(DatabaseInput={"Name": "weak_db"})
        glue.create_table(
            DatabaseName="weak_db",
            TableInput={"Name": "t", "PartitionKeys": [{"Name": "hour", "Type": "string"}]},
        )
        partition = {"Values": ["01"], "StorageDescriptor": {"Location": "s3://weak-lake/t/hour=01/"}}
        glue.create_partition(DatabaseName="weak_db", TableName="t", PartitionInput=partition)
        for n in range(100):  # what the minutely DAG does every minute after an hour's first
            with pytest.raises(glue.exceptions.AlreadyExistsException):
                glue.create_partition(DatabaseName="weak_db", TableName="t", PartitionInput=partition)
            s3.put_object(Bucket="weak-lake", Key=f"raw/{n}", Body=b"x")
            s3.put_object(Bucket="weak-lake", Key="latest", Body=b"%d" % n)  # overwrites the last
            s3.delete_object(Bucket="weak-lake", Key=f"raw/{n}")

        assert len(live(FakePartition, database_name="weak_db")) == 1
        assert [key.name for key in live(FakeKey, bucket_name="weak-lake")] == ["latest"]
        tracked = [key.name for key in FakeKey.instances_tracked if key.bucket_name == "weak-lake"]
        assert tracked == ["latest"]  # moto's own view: the live ones
