"""Writing snapshots into the lake layout: all or nothing, reruns overwrite, the CLI."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from flightdata.cli import main
from flightdata.etl.snapshot import process_snapshot
from flightdata.etl.transform import SnapshotContext
from flightdata.storage import DirectoryStore

FIXTURE = Path(__file__).parents[1] / "fixtures" / "snapshot_small.json"
WHEN = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


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


def test_snapshot_lands_in_hour_partitions_with_keys_from_the_minute(tmp_path):
    written = process_snapshot(DirectoryStore(tmp_path), FIXTURE.read_bytes(), SnapshotContext(WHEN), keep_raw=True)

    assert files(tmp_path) == [
        "processed/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.parquet",
        "quarantine/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.parquet",
        "raw/year=2026/month=01/day=01/hour=00/20260101T000000Z_global.json.gz",
    ]
    processed = pq.read_table(tmp_path / written.keys["processed"])
    assert processed.num_rows == written.result.summary.valid == 3


def test_rerunning_a_minute_overwrites_instead_of_duplicating(tmp_path):
    store = DirectoryStore(tmp_path)
    process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN))
    first = files(tmp_path)
    process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN))

    assert files(tmp_path) == first


@pytest.mark.parametrize("fail_on", [1, 2, 3])
def test_a_failed_write_leaves_nothing_behind(tmp_path, fail_on):
    store = FailingStore(tmp_path, fail_on)

    with pytest.raises(OSError, match="simulated"):
        process_snapshot(store, FIXTURE.read_bytes(), SnapshotContext(WHEN), keep_raw=True)
    assert files(tmp_path) == []


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
