"""Writing snapshots into the lake layout: all or nothing, reruns overwrite, the CLI."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from flightdata import lake
from flightdata.cli import main
from flightdata.etl.commit import read_commit
from flightdata.etl.snapshot import process_snapshot
from flightdata.lake import SnapshotContext
from flightdata.storage import DirectoryStore

FIXTURE = Path(__file__).parents[1] / "fixtures" / "snapshot_small.json"
WHEN = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
# The same minute with one aircraft's address changed, so two attempts read differently.
CHANGED = FIXTURE.read_bytes().replace(b'"abc123"', b'"abc124"')


class FailingStore(DirectoryStore):
    """A directory store whose n-th put fails, as a throttled or broken S3 would."""

    def __init__(self, root, fail_on: int) -> None:
        super().__init__(root)
        self.fail_on = fail_on
        self.puts = 0

    def put(self, key, body, content_type):
        self.puts += 1
        if self.puts == self.fail_on:
            raise OSError("simulated write failure")
        super().put(key, body, content_type)


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def committed(store: DirectoryStore, when: datetime = WHEN, region: str = "global") -> dict[str, list] | None:
    """What a reader counts: the rows of the attempt the commit names, or None."""
    commit = read_commit(store, when, region)
    if commit is None:
        return None
    processed = pq.read_table(io.BytesIO(store.get(commit.processed_key)))
    quarantine = pq.read_table(io.BytesIO(store.get(commit.quarantine_key)))
    assert set(processed["ingested_at"].to_pylist()) <= {commit.ingested_at.replace(tzinfo=None)}
    assert set(quarantine["ingested_at"].to_pylist()) <= {commit.ingested_at.replace(tzinfo=None)}
    assert (processed.num_rows, quarantine.num_rows) == (commit.valid, commit.quarantined)
    return {"processed": processed["icao24"].to_pylist(), "quarantine": quarantine["record"].to_pylist()}


def test_snapshot_lands_in_hour_partitions_with_keys_from_the_minute(tmp_path):
    written = process_snapshot(DirectoryStore(tmp_path), FIXTURE.read_bytes(), SnapshotContext(WHEN), keep_raw=True)

    attempt = lake.attempt_id(written.outcome.commit.ingested_at)
    assert files(tmp_path) == [
        "commits/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.parquet",
        f"processed/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.{attempt}.parquet",
        f"quarantine/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.{attempt}.parquet",
        "raw/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.json.gz",
    ]
    processed = pq.read_table(tmp_path / written.keys["processed"])
    assert processed.num_rows == written.result.summary.valid == 3
    commit = written.outcome.commit
    assert (commit.records, commit.valid, commit.quarantined) == (5, 3, 2)
    assert commit.processed_sha256 == hashlib.sha256((tmp_path / commit.processed_key).read_bytes()).hexdigest()


def test_rerunning_a_minute_replaces_instead_of_duplicating(tmp_path):
    store = DirectoryStore(tmp_path)
    process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN))
    first = committed(store)
    second = process_snapshot(store, CHANGED, SnapshotContext(WHEN))

    assert len(files(tmp_path)) == 3  # the commit, and one processed and one quarantine object
    assert second.outcome.as_dict() == {"replaced_objects": 2, "orphans_removed": []}
    assert committed(store) != first
    assert committed(store)["processed"] == ["a1b2c3", "00ff01", "abc124"]


@pytest.mark.parametrize("fail_on", [1, 2, 3, 4])
def test_a_failed_write_leaves_nothing_behind(tmp_path, fail_on):
    store = FailingStore(tmp_path, fail_on)

    with pytest.raises(OSError, match="simulated"):
        process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN), keep_raw=True)
    assert files(tmp_path) == []


@pytest.mark.parametrize("fail_on", [1, 2, 3, 4])
def test_a_failed_rerun_keeps_the_previous_good_write(tmp_path, fail_on):
    """GIVEN a committed minute WHEN a rerun fails at any write THEN the minute reads as before
    and every object of it is still there (the old rollback deleted the previous keys too)."""
    process_snapshot(DirectoryStore(tmp_path), FIXTURE.read_bytes(), SnapshotContext(WHEN), keep_raw=True)
    before, listing = committed(DirectoryStore(tmp_path)), files(tmp_path)

    with pytest.raises(OSError, match="simulated"):
        process_snapshot(FailingStore(tmp_path, fail_on), CHANGED, SnapshotContext(WHEN), keep_raw=True)

    assert committed(DirectoryStore(tmp_path)) == before
    assert files(tmp_path) == listing


def test_the_issue_repro_a_directory_in_the_way_of_the_rerun_keeps_the_old_output(tmp_path, capsys):
    """A rerun whose quarantine write fails for real (a directory where its file must go)."""
    out = tmp_path / "lake"
    assert main(["transform", str(FIXTURE), "--out", str(out)]) == 0
    before, listing = committed(DirectoryStore(out)), files(out)
    partition = out / "quarantine/year=2026/month=01/day=01/hour=00"
    real_mkstemp = tempfile.mkstemp

    def no_room_for_quarantine(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == partition:
            raise IsADirectoryError(21, "Is a directory")
        return real_mkstemp(*args, dir=dir, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", no_room_for_quarantine)
        assert main(["transform", str(FIXTURE), "--out", str(out)]) == 1
    assert "error: cannot write under" in capsys.readouterr().err
    assert committed(DirectoryStore(out)) == before
    assert files(out) == listing


def test_a_commit_that_cannot_be_read_back_rolls_the_attempt_back(tmp_path):
    """The commit PUT itself fails: no commit names the attempt, so its objects go."""
    store = FailingStore(tmp_path, 3)  # processed, quarantine, then the commit
    with pytest.raises(OSError, match="simulated"):
        process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN))
    assert files(tmp_path) == []


WRITER = """
import os, signal, sys, time
from datetime import datetime, UTC
from pathlib import Path
from flightdata.etl.snapshot import process_snapshot
from flightdata.lake import SnapshotContext
from flightdata.storage import DirectoryStore

class PausingStore(DirectoryStore):
    # After the n-th put, tell the test and wait to be killed.
    def __init__(self, root, stop_after, marker):
        super().__init__(root)
        self.stop_after, self.marker, self.puts = stop_after, Path(marker), 0
    def put(self, key, body, content_type):
        super().put(key, body, content_type)
        self.puts += 1
        if self.puts == self.stop_after:
            # written whole, then renamed: the test reads it as soon as the name exists
            self.marker.with_suffix(".partial").write_text(key)
            self.marker.with_suffix(".partial").replace(self.marker)
            time.sleep(600)

root, stop_after, marker, snapshot = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
process_snapshot(PausingStore(root, stop_after, marker), Path(snapshot).read_bytes(),
                 SnapshotContext(datetime(2026, 1, 1, tzinfo=UTC)), keep_raw=True)
"""


def kill_writer_after_put(tmp_path: Path, root: Path, stop_after: int, snapshot: Path) -> str:
    marker = tmp_path / f"marker-{stop_after}"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(stop_after), str(marker), str(snapshot)],
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert writer.poll() is None, "the writer ended before it reached the PUT"
            assert time.monotonic() < deadline, "the writer never reached the PUT"
            time.sleep(0.02)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    return marker.read_text()


@pytest.mark.parametrize("with_previous", [False, True], ids=["fresh", "rerun"])
@pytest.mark.parametrize("stop_after", [1, 2, 3, 4], ids=["raw", "processed", "quarantine", "commit"])
def test_a_writer_killed_after_any_put_leaves_the_old_state_or_the_new(tmp_path, stop_after, with_previous):
    """SIGKILL the writing process right after its n-th PUT: readers see the previous commit
    (or nothing) or the new one, never a mix; the retry reports and removes the orphans."""
    root = tmp_path / "lake"
    store = DirectoryStore(root)
    if with_previous:
        process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN), keep_raw=True)
    old = committed(store)
    changed = tmp_path / "changed.json"
    changed.write_bytes(CHANGED)

    last_key = kill_writer_after_put(tmp_path, root, stop_after, changed)

    seen = committed(store)
    if last_key.startswith("commits/"):
        assert seen["processed"] == ["a1b2c3", "00ff01", "abc124"]
    else:
        assert seen == old
    commit = read_commit(store, WHEN, "global")
    unnamed = [
        f for f in files(root) if f.startswith(("processed/", "quarantine/")) and (not commit or f not in commit.keys)
    ]
    retried = process_snapshot(store, CHANGED, SnapshotContext(WHEN), keep_raw=True)
    assert committed(store)["processed"] == ["a1b2c3", "00ff01", "abc124"]
    left = [f for f in files(root) if f.startswith(("processed/", "quarantine/"))]
    assert sorted(left) == sorted([retried.keys["processed"], retried.keys["quarantine"]])
    # Objects no commit named (the dead attempt's, or those it had superseded) are reported.
    assert sorted(retried.outcome.orphans) == sorted(unnamed)
    assert bool(unnamed) == (1 < stop_after < 4 or (stop_after == 4 and with_previous))


def test_cli_transform_prints_one_json_summary_line(tmp_path, capsys):
    assert main(["transform", str(FIXTURE), "--out", str(tmp_path)]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    summary = orjson.loads(lines[0])
    assert len(lines) == 1
    assert (summary["records"], summary["valid"], summary["quarantined"]) == (5, 3, 2)
    assert summary["quality_score"] == 0.6
    assert summary["snapshot_time"] == "2026-01-01T00:00:00Z"  # the file's own time
    table = pq.read_table(io.BytesIO((tmp_path / summary["keys"]["quarantine"]).read_bytes()))
    assert table.column("reasons").to_pylist() == [["bad_icao24"], ["bad_latitude", "bad_track"]]


@pytest.mark.parametrize("body", [b"not json", b'{"time": 1, "states": [["a"', b'{"states": null}'])
def test_cli_transform_rejects_malformed_input_and_writes_nothing(tmp_path, capsys, body):
    snapshot = tmp_path / "in.json"
    snapshot.write_bytes(body)
    out = tmp_path / "lake"

    assert main(["transform", str(snapshot), "--out", str(out)]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ")
    assert "\n" not in err
    assert not out.exists()


def test_cli_transform_into_an_unwritable_place_says_so_in_one_line(tmp_path, capsys):
    """/sys refuses new files for real (EACCES or EROFS, even for root)."""
    assert main(["transform", str(FIXTURE), "--out", "/sys/flightdata-test"]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write under /sys/flightdata-test")
    assert "\n" not in err
    assert not Path("/sys/flightdata-test").exists()


def test_cli_transform_refuses_a_region_ending_in_a_newline(tmp_path, capsys):
    assert main(["transform", str(FIXTURE), "--out", str(tmp_path), "--region", "europe\n"]) == 2
    assert "--region" in capsys.readouterr().err
    assert files(tmp_path) == []


@pytest.mark.parametrize(
    ("document", "snapshot_time", "refused"),
    [
        (b'{"time": -5, "states": []}', None, "1969-12-31T23:59:55"),
        (b'{"time": 1000000000, "states": []}', None, "2001-09-09"),
        (FIXTURE.read_bytes(), "2001-01-01T00:00:00Z", "2001-01-01"),
        (FIXTURE.read_bytes(), "2999-01-01T00:00:00Z", "2999-01-01"),
        (b'{"time": 32503680000, "states": []}', "2026-01-01T00:00:00Z", "3000-01-01"),  # the document's own time
    ],
)
def test_cli_transform_refuses_a_snapshot_time_outside_a_sane_window(
    tmp_path, capsys, document, snapshot_time, refused
):
    snapshot = tmp_path / "in.json"
    snapshot.write_bytes(document)
    out = tmp_path / "lake"
    extra = ["--snapshot-time", snapshot_time] if snapshot_time else []

    assert main(["transform", str(snapshot), "--out", str(out), *extra]) == 1

    err = capsys.readouterr().err.strip()
    assert refused in err
    assert "refused" in err
    assert "\n" not in err
    assert not out.exists()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs: a disk that really fills up (needs root, as CI and these machines run)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_a_full_disk_fails_the_rerun_and_keeps_the_previous_output(tiny_disk, capsys):
    out = tiny_disk / "lake"
    assert main(["transform", str(FIXTURE), "--out", str(out)]) == 0
    before, listing = committed(DirectoryStore(out)), files(out)
    filler = tiny_disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as handle:  # fill every block that is left
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    changed = tiny_disk.parent / "changed.json"
    changed.write_bytes(CHANGED)

    assert main(["transform", str(changed), "--out", str(out)]) == 1

    assert "No space left on device" in capsys.readouterr().err
    assert committed(DirectoryStore(out)) == before
    assert files(out) == listing


def test_the_runtime_cli_starts_no_deploy_toolchain(tmp_path):
    """``flightdata transform`` on a 12,000-record snapshot, as a user runs it: nothing on
    stderr (the CDK's Node printed an 11-line banner) and neither aws_cdk nor jsii imported
    (with them it took 4.5 s of CPU). The time itself is make bench's to print: asserted
    here, it failed on a busy machine."""
    from opensky_sim import Fleet, TrafficShape

    when = 1_767_225_600
    snapshot = tmp_path / "states.json"
    snapshot.write_bytes(
        orjson.dumps({"time": when, "states": Fleet(seed=3, shape=TrafficShape(aircraft=12_000)).states_at(when)})
    )
    probe = (
        "import resource, sys; from flightdata.cli import main; code = main(sys.argv[1:]); "
        "usage = resource.getrusage(resource.RUSAGE_SELF); "
        "deploy = {'aws_cdk', 'jsii'} & set(sys.modules); "
        "print('cdk' if deploy else 'no-cdk', usage.ru_utime + usage.ru_stime, file=sys.stdout); "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "transform", str(snapshot), "--out", str(tmp_path / "lake")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    verdict, _cpu_s = done.stdout.strip().splitlines()[-1].split()
    assert verdict == "no-cdk"
