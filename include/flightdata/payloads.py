"""The JSON the two Lambda functions take, as JSON Schemas: one contract at the boundary.

The minutely DAG's trigger form validates its regions with :data:`REGIONS` (Airflow checks a
``Param`` against its schema), and the functions validate the whole event with
:data:`INGESTION_EVENT` and :data:`TRANSFORM_EVENT` (``flightdata.lambdas.events``, compiled
by fastjsonschema, the validator AWS Lambda Powertools uses). What a schema cannot say (a
box's south edge below its north edge, a time that parses) stays in code.
"""

from __future__ import annotations

from typing import Any

from flightdata import lake

BOX: dict[str, Any] = {
    "type": "object",
    "required": ["lamin", "lomin", "lamax", "lomax"],
    "additionalProperties": False,
    "properties": {
        "lamin": {"type": "number", "minimum": -90, "maximum": 90},
        "lamax": {"type": "number", "minimum": -90, "maximum": 90},
        "lomin": {"type": "number", "minimum": -180, "maximum": 180},
        "lomax": {"type": "number", "minimum": -180, "maximum": 180},
    },
}
REGION_NAME: dict[str, Any] = {"type": "string", "pattern": lake.REGION_NAME_SCHEMA_PATTERN}
REGIONS: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": 12,
    "items": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": REGION_NAME, "bbox": BOX},
    },
}
_SNAPSHOT_TIME = {"type": "string"}  # an ISO minute; lake.parse_snapshot_time reads it
INGESTION_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["snapshot_time"],
    "properties": {
        "snapshot_time": _SNAPSHOT_TIME,
        "region": REGION_NAME,
        "bbox": {**BOX, "type": ["object", "null"]},
        "extended": {"type": "boolean"},
        "time_budget_s": {"type": "number", "minimum": 1, "maximum": 900},
        "credit_reserve": {"type": "integer", "minimum": 0},
        "credits_remaining": {"type": ["integer", "null"], "minimum": 0},
    },
}
TRANSFORM_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["raw_key", "snapshot_time"],
    "properties": {
        "raw_key": {"type": "string", "pattern": "^raw/"},
        "snapshot_time": _SNAPSHOT_TIME,
        "region": REGION_NAME,
        "bucket": {"type": ["string", "null"]},
    },
}
