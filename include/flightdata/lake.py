"""Where every object of the lake lives.

Keys derive only from the snapshot minute and the region, so a rerun of the same
minute overwrites its objects instead of adding copies.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flightdata import config


def partition_values(when: datetime) -> dict[str, str]:
    when = as_utc(when)
    return {"year": f"{when:%Y}", "month": f"{when:%m}", "day": f"{when:%d}", "hour": f"{when:%H}"}


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


def raw_key(when: datetime, region: str) -> str:
    return f"{config.RAW}/{partition_path(when)}/{_stem(when, region)}.json.gz"


def processed_key(when: datetime, region: str) -> str:
    return f"{config.PROCESSED}/{partition_path(when)}/{_stem(when, region)}.parquet"


def quarantine_key(when: datetime, region: str) -> str:
    return f"{config.QUARANTINE}/{partition_path(when)}/{_stem(when, region)}.parquet"


def parse_snapshot_time(text: str) -> datetime:
    """An ISO-8601 timestamp with an offset, truncated to the whole second, in UTC."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"snapshot_time {text!r} is not an ISO-8601 timestamp") from exc
    return as_utc(when).replace(microsecond=0)
