"""Writing one transformed snapshot into the lake layout (processed, quarantine, optional raw),
committed as one step (see ``flightdata.etl.commit``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flightdata import lake
from flightdata.etl.commit import PARQUET_CONTENT_TYPE as PARQUET
from flightdata.etl.commit import Commit, Outcome, commit_snapshot, sha256
from flightdata.etl.parse import ParsedSnapshot
from flightdata.etl.transform import SnapshotResult, transform, transform_parsed
from flightdata.lake import SnapshotContext, raw_object
from flightdata.storage import ObjectStore


@dataclass(frozen=True)
class WrittenSnapshot:
    result: SnapshotResult
    keys: dict[str, str]
    outcome: Outcome

    def report(self) -> dict[str, Any]:
        return {**self.result.summary.as_dict(), "keys": self.keys, **self.outcome.as_dict()}


def process_snapshot(
    store: ObjectStore,
    body: bytes,
    context: SnapshotContext,
    *,
    keep_raw: bool = False,
    raw_key: str | None = None,
    parsed: ParsedSnapshot | None = None,
) -> WrittenSnapshot:
    """Transform ``body``, write processed and quarantine Parquet, then commit the snapshot.

    ``keep_raw`` also lands the raw gzip (the CLI; on AWS the ingestion function did);
    ``raw_key`` names where it already is. ``parsed`` saves parsing again. Malformed input
    raises before anything is written; a failed write leaves the snapshot as it was.
    """
    result = transform_parsed(parsed, context) if parsed is not None else transform(body, context)
    when, region = context.snapshot_time, context.region
    attempt = lake.attempt_id(context.ingested_at)
    processed, quarantine = result.parquet()
    keys = {
        "processed": lake.processed_key(when, region, attempt),
        "quarantine": lake.quarantine_key(when, region, attempt),
    }
    raw_landed = False
    if keep_raw:
        raw_key, raw_body, content_type = raw_object(body, context)
        raw_landed = not store.exists(raw_key)  # a rerun's raw is the same input: keep it on failure
        store.put(raw_key, raw_body, content_type)
    summary = result.summary
    commit = Commit(
        snapshot_time=when,
        region=region,
        ingested_at=context.ingested_at,
        committed_at=datetime.now(UTC),
        records=summary.records,
        valid=summary.valid,
        quarantined=summary.quarantined,
        processed_key=keys["processed"],
        processed_sha256=sha256(processed),
        quarantine_key=keys["quarantine"],
        quarantine_sha256=sha256(quarantine),
        raw_key=raw_key,
    )
    try:
        outcome = commit_snapshot(
            store, commit, {keys["processed"]: (processed, PARQUET), keys["quarantine"]: (quarantine, PARQUET)}
        )
    except BaseException:
        if raw_landed and raw_key:
            store.delete(raw_key)
        raise
    if raw_key:
        keys = {"raw": raw_key, **keys}
    keys["commit"] = lake.commit_key(when, region)
    return WrittenSnapshot(result, keys, outcome)
