"""A developer's lake, catalog, functions and query history survive a restart of the endpoint."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import time
import zipfile

from moto.moto_api._internal.models import moto_api_backend

from flightdata_local.services import BIN, free_port, stop, wait_ready
from localaws import credentials
from localaws.clients import local_client
from localaws.server import running


def clients(endpoint):
    return endpoint.client


def forget_in_memory_state() -> None:
    """moto's backends live in this process: empty them, as a real restart would, so what the
    second endpoint has can only come from the state directory."""
    moto_api_backend.reset()


def test_state_survives_a_restart(tmp_path):
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("fn.py", "def handler(event, context):\n    return {'ok': True}\n")

    with running(state_dir=tmp_path) as first:
        aws = clients(first)
        aws("s3").create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        aws("s3").put_object(Bucket="lake", Key="processed/a.parquet", Body=b"first")
        aws("s3").put_object(Bucket="lake", Key="processed/a.parquet", Body=b"second")
        aws("s3").put_object(Bucket="lake", Key="processed/gone.parquet", Body=b"x")
        aws("s3").delete_object(Bucket="lake", Key="processed/gone.parquet")
        aws("glue").create_database(DatabaseInput={"Name": "flights"})
        aws("lambda").create_function(
            FunctionName="fn",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/r",
            Handler="fn.handler",
            Code={"ZipFile": code.getvalue()},
        )
        query_id = aws("athena").start_query_execution(
            QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "s3://lake/results/"}
        )["QueryExecutionId"]

    forget_in_memory_state()
    with running(state_dir=tmp_path) as second:
        aws = clients(second)
        keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="lake")["Contents"] if "results/" not in o["Key"]]
        assert keys == ["processed/a.parquet"]
        assert aws("s3").get_object(Bucket="lake", Key="processed/a.parquet")["Body"].read() == b"second"
        assert aws("glue").get_database(Name="flights")["Database"]["Name"] == "flights"
        assert aws("lambda").invoke(FunctionName="fn")["Payload"].read() == b'{"ok": true}'
        assert aws("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Query"] == "SELECT 1"


def test_a_torn_journal_entry_is_skipped_with_a_warning_and_secrets_stay_private(tmp_path, caplog):
    with running(state_dir=tmp_path) as first:
        aws = clients(first)
        aws("glue").create_database(DatabaseInput={"Name": "kept"})
        aws("secretsmanager").create_secret(Name="opensky", SecretString='{"client_secret": "s3cr3t-value"}')
        aws("glue").create_database(DatabaseInput={"Name": "torn"})
    journal = tmp_path / "journal"
    entries = sorted(journal.glob("*.json"))
    text = entries[-1].read_text()
    entries[-1].write_text(text[: len(text) // 2])  # the last write, cut short by a crash

    holding_secret = [p for p in journal.iterdir() if b"s3cr3t-value" in p.read_bytes()]
    assert holding_secret
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in journal.iterdir())
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o700

    forget_in_memory_state()
    with caplog.at_level("WARNING"), running(state_dir=tmp_path) as second:
        names = {d["Name"] for d in clients(second)("glue").get_databases()["DatabaseList"]}
    assert names == {"kept"}
    assert f"skipping journal entry {entries[-1].name}" in caplog.text


def test_journal_entries_of_the_wrong_shape_are_skipped_not_fatal(tmp_path, caplog):
    """Valid JSON that is not an entry (null, a list, text, headers that are not a map)
    stopped start-up with an AttributeError; each is now skipped like a torn file."""
    with running(state_dir=tmp_path) as first:
        clients(first)("glue").create_database(DatabaseInput={"Name": "shaped"})
    journal = tmp_path / "journal"
    last = int(sorted(journal.glob("*.json"))[-1].stem)
    shapes = [
        "null",
        "[1, 2]",
        '"x"',
        '{"headers": "x"}',
        '{"method": "PUT", "path": "/", "query": "", "headers": {"a": 1}}',
    ]
    for offset, text in enumerate(shapes, start=1):
        (journal / f"{last + offset:09d}.json").write_text(text)

    forget_in_memory_state()
    with caplog.at_level("WARNING"), running(state_dir=tmp_path) as second:
        names = {d["Name"] for d in clients(second)("glue").get_databases()["DatabaseList"]}
    forget_in_memory_state()  # moto's backends live in this process: leave them empty
    assert names == {"shaped"}
    assert caplog.text.count("skipping journal entry") == len(shapes)


def test_overwritten_and_deleted_objects_leave_the_journal(tmp_path):
    """The journal keeps what the lake holds now: superseded writes go at compaction, and a
    restart still restores the live objects, copies included."""
    with running(state_dir=tmp_path) as first:
        s3 = clients(first)("s3")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for n in range(5):
            s3.put_object(Bucket="lake", Key="minute.parquet", Body=b"x" * 100_000 + bytes([n]))
        s3.put_object(Bucket="lake", Key="source", Body=b"original")
        s3.copy_object(Bucket="lake", Key="copy", CopySource="lake/source")
        s3.put_object(Bucket="lake", Key="source", Body=b"changed")
        for n in range(3):
            s3.put_object(Bucket="lake", Key=f"gone/{n}", Body=b"y" * 50_000)
        s3.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": f"gone/{n}"} for n in range(3)]})
        s3.put_object(Bucket="lake", Key="single", Body=b"z" * 50_000)
        s3.delete_object(Bucket="lake", Key="single")
        dropped = first.app.journal.compact()

    bodies = [*(tmp_path / "journal").glob("*.body"), *(tmp_path / "objects").glob("*/*")]
    assert dropped == 4 + 3 + 1  # four overwritten minutes, three batch-deleted, one deleted
    assert sum(p.stat().st_size for p in bodies) < 100_000 + 1 + 2_000  # the live minute, the sources, the rest

    forget_in_memory_state()
    with running(state_dir=tmp_path) as second:
        s3 = clients(second)("s3")
        assert s3.get_object(Bucket="lake", Key="minute.parquet")["Body"].read()[-1] == 4
        assert s3.get_object(Bucket="lake", Key="copy")["Body"].read() == b"original"
        assert s3.get_object(Bucket="lake", Key="source")["Body"].read() == b"changed"
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", []))
        assert keys == ["copy", "minute.parquet", "source"]


def test_a_query_running_when_the_endpoint_is_killed_ends_failed_after_the_restart(tmp_path):
    """SIGKILL the endpoint process while a query runs: after the restart the query is
    FAILED with a reason, not RUNNING for ever (Airflow's triggerer waits on it)."""
    state = tmp_path / "state"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "flightdata-local"), "serve", "--port", str(port), "--state-dir", str(state)]
    log = tmp_path / "endpoint.log"

    def start() -> subprocess.Popen:
        with log.open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(url, process, "local AWS endpoint", log)
        return process

    endpoint = start()
    try:
        athena = local_client("athena", url, "eu-west-1", credentials.read(credentials.credentials_file(state)))
        s3 = local_client("s3", url, "eu-west-1", credentials.read(credentials.credentials_file(state)))
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        query_id = athena.start_query_execution(
            QueryString="SELECT count(*) FROM UNNEST(sequence(1, 3000000000)) AS t(x)",
            ResultConfiguration={"OutputLocation": "s3://results/"},
        )["QueryExecutionId"]
        deadline = time.monotonic() + 60
        while athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] != "RUNNING":
            assert time.monotonic() < deadline, "the query never started"
            time.sleep(0.1)

        os.killpg(endpoint.pid, signal.SIGKILL)
        endpoint.wait()
        endpoint = start()

        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        assert status["State"] == "FAILED"
        assert "the local endpoint stopped while the query ran" in status["StateChangeReason"]
    finally:
        stop(endpoint)
