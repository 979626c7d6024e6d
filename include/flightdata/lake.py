"""Where every object of the lake lives.

Keys derive only from the snapshot minute and the region, so a rerun of the same
minute overwrites its objects instead of adding copies.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flightdata import resources

# A region names a bounding box and ends up in object keys.
REGION_NAME = "[a-z][a-z0-9_-]{0,31}"
# The same rule as a JSON-schema pattern, which the trigger form also checks in the browser:
# with '$' alone Python's re (jsonschema) would accept a final newline, so a lookahead refuses it.
REGION_NAME_SCHEMA_PATTERN = f"^{REGION_NAME}$(?!\\n)"
# Snapshot times outside this window are a broken clock or document, never data to partition.
EARLIEST_SNAPSHOT = datetime(2010, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(minutes=10)
RAW_CONTENT_TYPE = "application/gzip"  # the OpenSky response, gzipped as sent
RAW_GZIP_LEVEL = 6


class InvalidSnapshotTime(ValueError):
    """A snapshot time that no real snapshot can have (before 2010, or ahead of the run)."""


def check_region(region: object) -> str:
    if not isinstance(region, str) or not re.fullmatch(REGION_NAME, region):
        raise ValueError(
            f"region must be 1-32 lowercase letters, digits, '-' or '_', starting with a letter; got {region!r}"
        )
    return region


def check_snapshot_time(when: datetime, now: datetime, what: str = "snapshot time") -> datetime:
    """``when`` unless it is before 2010 or more than 10 minutes ahead of ``now``."""
    when = as_utc(when)
    if when < EARLIEST_SNAPSHOT or when > as_utc(now) + LATEST_AHEAD:
        raise InvalidSnapshotTime(
            f"{what} {when.isoformat()} is outside {EARLIEST_SNAPSHOT:%Y-%m-%d} .. "
            f"{(as_utc(now) + LATEST_AHEAD).isoformat()} (at most 10 minutes ahead of the run); refused"
        )
    return when


def partition_values(when: datetime) -> dict[str, str]:
    when = as_utc(when)
    return {"year": f"{when:%Y}", "month": f"{when:%m}", "day": f"{when:%d}", "hour": f"{when:%H}"}


def day_partition_values(when: datetime) -> dict[str, str]:
    """The day's partition values: a day-partitioned table's (flights), or all of a day's hours."""
    return {key: value for key, value in partition_values(when).items() if key != "hour"}


def day_filter(when: datetime) -> str:
    """A SQL condition selecting the day's partitions (every hour of it, in an hourly table)."""
    return partition_filter(day_partition_values(when))


def partition_path(when: datetime) -> str:
    return "/".join(f"{k}={v}" for k, v in partition_values(when).items())


def partition_filter(values: dict[str, str]) -> str:
    """A SQL condition selecting the given partition values (Athena prunes on it)."""
    return " AND ".join(f"{key} = '{value}'" for key, value in values.items())


def as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"snapshot time {when.isoformat()} has no timezone; pass an aware UTC datetime")
    return when.astimezone(UTC)


def _stem(when: datetime, region: str) -> str:
    return f"{as_utc(when):%Y%m%dT%H%M%SZ}_{region}"


def attempt_id(ingested_at: datetime) -> str:
    """An ETL attempt's name in object keys: its ``ingested_at``, to the millisecond."""
    at = as_utc(ingested_at)
    return f"{at:%Y%m%dT%H%M%S}{at.microsecond // 1000:03d}Z"


def raw_key(when: datetime, region: str) -> str:
    return f"{resources.RAW}/{partition_path(when)}/{_stem(when, region)}.json.gz"


def snapshot_prefix(kind: str, when: datetime, region: str) -> str:
    """The start of every key one snapshot has under ``kind``, whatever the attempt."""
    return f"{kind}/{partition_path(when)}/{_stem(when, region)}."


def processed_key(when: datetime, region: str, attempt: str) -> str:
    return f"{snapshot_prefix(resources.PROCESSED, when, region)}{attempt}.parquet"


def quarantine_key(when: datetime, region: str, attempt: str) -> str:
    return f"{snapshot_prefix(resources.QUARANTINE, when, region)}{attempt}.parquet"


def hour_prefix(kind: str, hour: datetime) -> str:
    return f"{kind}/{partition_path(hour)}/"


def minute_of_key(key: str) -> datetime:
    """The snapshot minute a lake key names (``.../20260101T000000Z_<region>...``)."""
    name = key.rsplit("/", 1)[-1]
    return datetime.strptime(name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def commit_key(when: datetime, region: str) -> str:
    """One key per snapshot: overwriting it is the single step that switches attempts."""
    return f"{snapshot_prefix(resources.COMMITS, when, region)}parquet"


def parse_snapshot_time(text: str) -> datetime:
    """An ISO-8601 timestamp with an offset, truncated to the whole second, in UTC."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"snapshot_time {text!r} is not an ISO-8601 timestamp") from exc
    return as_utc(when).replace(microsecond=0)


@dataclass(frozen=True)
class SnapshotContext:
    """What the ETL needs to know about a snapshot besides its bytes."""

    snapshot_time: datetime
    region: str = "global"
    ingested_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        check_region(self.region)
        when = check_snapshot_time(self.snapshot_time, self.ingested_at)
        object.__setattr__(self, "snapshot_time", when)
        # To the millisecond, as stored: the attempt's identity in keys, rows and its commit.
        at = as_utc(self.ingested_at)
        object.__setattr__(self, "ingested_at", at.replace(microsecond=at.microsecond // 1000 * 1000))


def raw_object(body: bytes, context: SnapshotContext) -> tuple[str, bytes, str]:
    """The raw response as the lake keeps it: key, gzipped body, content type."""
    return raw_key(context.snapshot_time, context.region), gzip.compress(body, RAW_GZIP_LEVEL), RAW_CONTENT_TYPE
