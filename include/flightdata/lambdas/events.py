"""The JSON events the two Lambda functions take, validated with messages that name the field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flightdata import lake
from flightdata.opensky.api import BoundingBox
from flightdata.opensky.errors import InvalidRequestError


class InvalidEventError(ValueError):
    """The invocation payload is wrong; the message names the field."""


def _require(event: Any, name: str) -> Any:
    if not isinstance(event, dict):
        raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")
    if name not in event or event[name] is None:
        raise InvalidEventError(f"event field '{name}' is required")
    return event[name]


def _snapshot_time(event: dict[str, Any]) -> datetime:
    try:
        return lake.parse_snapshot_time(_require(event, "snapshot_time"))
    except ValueError as exc:
        raise InvalidEventError(f"event field 'snapshot_time': {exc}") from None


def _region(event: dict[str, Any]) -> str:
    try:
        return lake.check_region(event.get("region", "global"))
    except ValueError as exc:
        raise InvalidEventError(f"event field 'region': {exc}") from None


def _int(event: dict[str, Any], name: str, default: int | None, minimum: int = 0) -> int | None:
    value = event.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidEventError(f"event field '{name}' must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class IngestionEvent:
    snapshot_time: datetime
    region: str
    bbox: BoundingBox | None
    extended: bool
    credit_reserve: int
    credits_remaining: int | None
    time_budget_s: float

    @classmethod
    def parse(cls, event: Any) -> IngestionEvent:
        snapshot_time = _snapshot_time(event)
        bbox = None
        if event.get("bbox") is not None:
            if not isinstance(event["bbox"], dict):
                raise InvalidEventError("event field 'bbox' must be an object with lamin, lomin, lamax, lomax")
            try:
                bbox = BoundingBox.from_mapping(event["bbox"])
            except InvalidRequestError as exc:
                raise InvalidEventError(f"event field 'bbox': {exc}") from None
        extended = event.get("extended", False)
        if not isinstance(extended, bool):
            raise InvalidEventError(f"event field 'extended' must be true or false, got {extended!r}")
        budget = event.get("time_budget_s", 40)
        if isinstance(budget, bool) or not isinstance(budget, int | float) or not 1 <= budget <= 900:
            raise InvalidEventError(f"event field 'time_budget_s' must be 1-900 seconds, got {budget!r}")
        return cls(
            snapshot_time=snapshot_time,
            region=_region(event),
            bbox=bbox,
            extended=extended,
            credit_reserve=_int(event, "credit_reserve", 0) or 0,
            credits_remaining=_int(event, "credits_remaining", None),
            time_budget_s=float(budget),
        )


@dataclass(frozen=True)
class TransformEvent:
    raw_key: str
    snapshot_time: datetime
    region: str
    bucket: str | None

    @classmethod
    def parse(cls, event: Any) -> TransformEvent:
        raw_key = _require(event, "raw_key")
        if not isinstance(raw_key, str) or not raw_key.startswith("raw/"):
            raise InvalidEventError(f"event field 'raw_key' must be a key under raw/, got {raw_key!r}")
        bucket = event.get("bucket")
        if bucket is not None and not isinstance(bucket, str):
            raise InvalidEventError(f"event field 'bucket' must be a string, got {bucket!r}")
        return cls(raw_key=raw_key, snapshot_time=_snapshot_time(event), region=_region(event), bucket=bucket)
