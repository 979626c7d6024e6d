"""One contract at the Lambda boundary (#23): the DAG's trigger form and the ingestion
function check a region's box against the same JSON Schema, so they accept and refuse
the same boxes."""

from __future__ import annotations

import pytest
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamValidationError

from flightdata import payloads
from flightdata.lambdas.events import IngestionEvent, InvalidEventError
from flightdata.orchestration import minutely

MINUTE = "2026-01-01T00:00:00Z"
GOOD = {"lamin": 45.8, "lomin": 5.9, "lamax": 47.8, "lomax": 10.5}
BAD_BOXES = [
    {**GOOD, "lamin": 91},
    {**GOOD, "lomax": "10.5"},
    {**GOOD, "lomax": True},
    {key: value for key, value in GOOD.items() if key != "lomax"},
    {**GOOD, "extra": 1},
]


def test_the_form_uses_the_functions_schema():
    assert minutely.REGIONS_SCHEMA is payloads.REGIONS
    assert payloads.REGIONS["items"]["properties"]["bbox"] is payloads.BOX
    assert payloads.INGESTION_EVENT["properties"]["bbox"]["properties"] is payloads.BOX["properties"]


def test_a_good_box_passes_both():
    Param([{"name": "alps", "bbox": GOOD}], schema=payloads.REGIONS).resolve()
    assert IngestionEvent.parse({"snapshot_time": MINUTE, "region": "alps", "bbox": GOOD}).bbox is not None


@pytest.mark.parametrize("box", BAD_BOXES, ids=["latitude", "string", "boolean", "missing", "extra"])
def test_a_bad_box_is_refused_by_both_naming_the_field(box):
    with pytest.raises(ParamValidationError):
        Param([{"name": "alps", "bbox": box}], schema=payloads.REGIONS).resolve()
    with pytest.raises(InvalidEventError, match="'bbox"):
        IngestionEvent.parse({"snapshot_time": MINUTE, "region": "alps", "bbox": box})
