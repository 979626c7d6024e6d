"""A snapshot is committed, or it does not exist.

An ETL attempt writes its processed and quarantine objects under keys of its own (the
attempt is its ``ingested_at``), so it never overwrites what an earlier attempt wrote.
Then one PUT of the snapshot's commit object, a one-row Parquet file under ``commits/``,
makes the attempt the snapshot's: readers count only rows whose (snapshot_time, region,
ingested_at) match a commit. Only after that are the previous attempt's objects and any
orphans (objects of attempts that died before committing) deleted.

So a writer killed after any PUT leaves readers the previous committed state, or the new
one; a failed attempt deletes only its own objects; and the next attempt finds, reports
and removes what a dead one left.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flightdata import lake, resources
from flightdata.etl.arrow import COMMIT_SCHEMA
from flightdata.storage import ObjectStore

log = logging.getLogger(__name__)
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
# Parquet keeps timestamps naive; a commit's are UTC.
_TIMESTAMPS = tuple(f.name for f in COMMIT_SCHEMA if pa.types.is_timestamp(f.type))


class CommitError(RuntimeError):
    """The commit object could not be written, and reading it back does not show ours."""


@dataclass(frozen=True)
class Commit:
    """What one commit object says: which attempt of a snapshot readers count."""

    snapshot_time: datetime
    region: str
    ingested_at: datetime
    committed_at: datetime
    records: int
    valid: int
    quarantined: int
    processed_key: str
    processed_sha256: str
    quarantine_key: str
    quarantine_sha256: str
    raw_key: str | None = None

    @property
    def keys(self) -> list[str]:
        return [self.processed_key, self.quarantine_key]

    def to_parquet(self) -> bytes:
        row = {name: [getattr(self, name)] for name in COMMIT_SCHEMA.names}
        for name in _TIMESTAMPS:
            row[name] = [lake.as_utc(row[name][0]).replace(tzinfo=None)]
        sink = io.BytesIO()
        pq.write_table(pa.table(row, schema=COMMIT_SCHEMA), sink, compression="zstd")
        return sink.getvalue()

    @classmethod
    def from_parquet(cls, body: bytes) -> Commit:
        rows = pq.read_table(io.BytesIO(body)).to_pylist()
        if len(rows) != 1:
            raise CommitError(f"a commit object holds one row, this one {len(rows)}")
        row = rows[0]
        for name in _TIMESTAMPS:
            row[name] = row[name].replace(tzinfo=UTC)
        return cls(**row)


@dataclass(frozen=True)
class Outcome:
    """What committing did besides writing: superseded objects and orphans it removed."""

    commit: Commit
    replaced: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"replaced_objects": len(self.replaced), "orphans_removed": self.orphans}


def read_commit(store: ObjectStore, when: datetime, region: str) -> Commit | None:
    key = lake.commit_key(when, region)
    if not store.exists(key):
        return None
    return Commit.from_parquet(store.get(key))


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def commit_snapshot(
    store: ObjectStore,
    commit: Commit,
    bodies: dict[str, tuple[bytes, str]],
) -> Outcome:
    """Write the attempt's objects (``key → (body, content type)``), then its commit object.

    On a failure before the commit, the attempt's own objects are deleted and the error
    raised; the snapshot's previous commit and objects are untouched."""
    when, region = commit.snapshot_time, commit.region
    previous = read_commit(store, when, region)
    if previous is not None and previous.ingested_at == commit.ingested_at and previous.keys != commit.keys:
        raise CommitError(f"snapshot {when.isoformat()} {region}: two attempts share ingested_at")
    written: list[str] = []
    try:
        for key, (body, content_type) in bodies.items():
            store.put(key, body, content_type)
            written.append(key)
        _put_commit(store, commit)
    except BaseException:
        for key in reversed(written):
            if previous is None or key not in previous.keys:
                _delete_quietly(store, key)
        raise
    return Outcome(commit, *_clean_up(store, commit, previous))


def _put_commit(store: ObjectStore, commit: Commit) -> None:
    key = lake.commit_key(commit.snapshot_time, commit.region)
    try:
        store.put(key, commit.to_parquet(), PARQUET_CONTENT_TYPE)
    except Exception as exc:
        # The PUT may have landed before the error (a timeout on the answer): ask the store.
        try:
            landed = read_commit(store, commit.snapshot_time, commit.region)
        except Exception:
            landed = None
        if landed is not None and landed.ingested_at == commit.ingested_at:
            log.warning("commit %s landed although its PUT reported %s", store.uri(key), exc)
            return
        raise


def _clean_up(store: ObjectStore, commit: Commit, previous: Commit | None) -> tuple[list[str], list[str]]:
    """Delete the superseded attempt's objects and any orphans; a failure here loses nothing
    (readers already skip them), so it is logged, and the next attempt tries again."""
    keep = set(commit.keys)
    replaced = [key for key in previous.keys if key not in keep] if previous else []
    stale = set(replaced)
    orphans: list[str] = []
    for kind in (resources.PROCESSED, resources.QUARANTINE):
        for key in store.list(lake.snapshot_prefix(kind, commit.snapshot_time, commit.region)):
            if key not in keep and key not in stale:
                orphans.append(key)
    if orphans:
        log.warning(
            "snapshot %s %s: removing %d orphaned object(s) that no commit names (a writer died): %s",
            commit.snapshot_time.isoformat(),
            commit.region,
            len(orphans),
            ", ".join(orphans),
        )
    for key in [*replaced, *orphans]:
        _delete_quietly(store, key)
    return replaced, orphans


def _delete_quietly(store: ObjectStore, key: str) -> None:
    try:
        store.delete(key)
    except Exception:
        log.exception("could not delete %s; readers skip it, the next attempt retries", store.uri(key))
