"""Facts the project states in more than one medium stay consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from flightdata import resources
from flightdata.etl.arrow import PROCESSED_SCHEMA, arrow_type
from flightdata.schema import PROCESSED_COLUMNS, glue_columns
from flightdata_cdk.versions import SUPPORTED_AIRFLOW_VERSIONS

ROOT = Path(__file__).parents[2]


def test_requirements_leave_the_constraints_to_mwaa_and_we_keep_each_versions_copy():
    # MWAA installs a requirements.txt that names no constraints file against its own, for the
    # environment's version; its check is a plain text search, comments included.
    assert not re.search(r"-c |--constraint ", (ROOT / "requirements.txt").read_text())
    for version in SUPPORTED_AIRFLOW_VERSIONS:
        url = f"https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-3.12.txt"
        for copy in (f"constraints-{version}-python3.12.txt", f"mwaa-essential-constraints-{version}.txt"):
            assert url in (ROOT / "constraints" / copy).read_text(), f"{copy} was not copied for Airflow {version}"


def test_every_resource_name_derives_from_the_prefix():
    names = resources.Resources("flightdata-dev")

    assert names.lake_bucket == "flightdata-dev-lake"
    assert names.glue_database == "flightdata_dev"
    assert names.ingestion_function == "flightdata-dev-ingestion"
    assert resources.Resources.from_env({"AIRFLOW__FLIGHTDATA__PREFIX": "fd-prod"}).workgroup == "fd-prod-analytics"
    assert resources.Resources.from_env({}).prefix == resources.DEFAULT_PREFIX


@pytest.mark.parametrize("prefix", ["", "Flight", "a", "x" * 60, "fd_prod"])
def test_a_malformed_prefix_is_refused_with_the_reason(prefix):
    with pytest.raises(resources.ConfigError, match="resource prefix"):
        resources.Resources(prefix)


def test_glue_columns_come_from_the_schema():
    columns = {c["Name"]: c["Type"] for c in glue_columns(PROCESSED_COLUMNS)}

    assert columns["latitude"] == "float"
    assert columns["icao24"] == "string"
    assert columns["sensors"] == "array<int>"
    assert columns["snapshot_time"] == "timestamp"
    assert PROCESSED_SCHEMA.field("sensors").type == pa.list_(pa.int32())
    assert PROCESSED_SCHEMA.field("latitude").type == pa.float32()
    with pytest.raises(TypeError, match="no Arrow type for Glue type 'binary'"):
        arrow_type("binary")
