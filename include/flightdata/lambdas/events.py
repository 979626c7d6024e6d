"""The JSON events the two Lambda functions take (``flightdata.payloads``), validated with
messages that name the field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import fastjsonschema

from flightdata import lake, payloads
from flightdata.opensky.api import BoundingBox
from flightdata.opensky.errors import InvalidRequestError


class InvalidEventError(ValueError):
    """The invocation payload is wrong; the message names the field."""


def _validator(schema: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    check = fastjsonschema.compile(schema)

    def validate(event: Any) -> dict[str, Any]:
        try:
            check(event)
        except fastjsonschema.JsonSchemaValueException as exc:
            path = list(exc.path[1:])
            if exc.rule == "required" and isinstance(exc.value, dict):
                path.append(next(k for k in exc.definition["required"] if k not in exc.value))
                raise InvalidEventError(f"event field '{'.'.join(path)}' is required") from None
            if not path:
                raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}") from None
            reason = exc.message.removeprefix(exc.name).strip()
            raise InvalidEventError(f"event field '{'.'.join(path)}' {reason}, got {exc.value!r}") from None
        return dict(event)

    return validate


# One contract at the boundary: the schemas in flightdata.payloads, compiled once a cold start.
_ingestion_event = _validator(payloads.INGESTION_EVENT)
_transform_event = _validator(payloads.TRANSFORM_EVENT)


def _snapshot_time(event: dict[str, Any]) -> datetime:
    try:
        return lake.parse_snapshot_time(event["snapshot_time"])
    except ValueError as exc:
        raise InvalidEventError(f"event field 'snapshot_time': {exc}") from None


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
        event = _ingestion_event(event)
        bbox = None
        if event.get("bbox") is not None:
            try:  # what the schema cannot say: each south (west) edge below its north (east) one
                bbox = BoundingBox.from_mapping(event["bbox"])
            except InvalidRequestError as exc:
                raise InvalidEventError(f"event field 'bbox': {exc}") from None
        return cls(
            snapshot_time=_snapshot_time(event),
            region=event.get("region", "global"),
            bbox=bbox,
            extended=event.get("extended", False),
            credit_reserve=event.get("credit_reserve", 0),
            credits_remaining=event.get("credits_remaining"),
            time_budget_s=float(event.get("time_budget_s", 40)),
        )


@dataclass(frozen=True)
class TransformEvent:
    raw_key: str
    snapshot_time: datetime
    region: str
    bucket: str | None

    @classmethod
    def parse(cls, event: Any) -> TransformEvent:
        event = _transform_event(event)
        return cls(
            raw_key=event["raw_key"],
            snapshot_time=_snapshot_time(event),
            region=event.get("region", "global"),
            bucket=event.get("bucket"),
        )
