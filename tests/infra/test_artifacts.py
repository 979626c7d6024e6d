"""What ships to each place holds nothing from the laptop's or the deploy machine's side.

The Lambda zip and the MWAA bundle are built for real and their entries listed.
"""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath

import pytest

from flightdata_cdk import bundle, package
from localaws.deploy import build_code_zip

# Anything from the dev side, by path part: the local endpoint and simulator, the CDK app,
# and the libraries only they use.
DEV_SIDE = {"localaws", "opensky_sim", "simulator", "flightdata_cdk", "moto", "duckdb", "sqlglot", "aws_cdk", "tests"}


def dev_side(names: list[str]) -> list[str]:
    return [name for name in names if DEV_SIDE & set(PurePosixPath(name).parts)]


@pytest.fixture(scope="module")
def lambda_zip() -> list[str]:
    return zipfile.ZipFile(package.build()).namelist()


@pytest.fixture(scope="module")
def mwaa_bundle(tmp_path_factory) -> list[str]:
    root = bundle.build(tmp_path_factory.mktemp("mwaa"))
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.is_file()]


def test_the_lambda_zip_holds_the_handlers_and_nothing_from_the_dev_side(lambda_zip):
    assert "flightdata/lambdas/ingestion.py" in lambda_zip
    assert "flightdata/etl/transform.py" in lambda_zip
    assert any(name.startswith("pyarrow/") for name in lambda_zip)
    assert dev_side(lambda_zip) == []
    assert [n for n in lambda_zip if n.startswith(("flightdata/orchestration/", "flightdata/sql/"))] == []
    assert "flightdata/cli.py" not in lambda_zip


def test_the_mwaa_bundle_holds_the_dags_and_the_airflow_side_only(mwaa_bundle):
    assert "dags/opensky_flights.py" in mwaa_bundle
    assert "dags/flightdata/orchestration/minutely.py" in mwaa_bundle
    assert "dags/flightdata/sql/compact_hour.sql" in mwaa_bundle
    assert dev_side(mwaa_bundle) == []
    for lambda_side in ("etl", "lambdas", "opensky"):
        assert [n for n in mwaa_bundle if f"/flightdata/{lambda_side}/" in n] == []
    assert "dags/flightdata/cli.py" not in mwaa_bundle


def test_the_local_deploy_ships_the_same_flightdata_files_as_the_aws_lambda_zip(lambda_zip, tmp_path):
    local = tmp_path / "local.zip"
    local.write_bytes(build_code_zip())

    assert zipfile.ZipFile(local).namelist() == [n for n in lambda_zip if n.startswith("flightdata/")]
