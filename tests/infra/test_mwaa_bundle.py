"""The MWAA bundle loads as MWAA loads it, and `make deploy` uploads only what changed."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from flightdata_cdk import bundle, deploy

LOAD_LIKE_MWAA = """
import json, sys
import flightdata
from flightdata.orchestration.compat import dag_bag
bag = dag_bag(sys.argv[1])
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dag_ids),
                  "files": sorted(bag.dagbag_stats[i].file for i in range(len(bag.dagbag_stats))),
                  "flightdata": flightdata.__file__}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return bundle.build(tmp_path_factory.mktemp("mwaa"))


def test_bundle_holds_what_mwaa_reads(built):
    assert (built / "requirements.txt").read_text().startswith("# What MWAA installs")
    assert (built / "dags" / "flightdata" / "__init__.py").exists()
    assert (built / "dags" / ".airflowignore").read_text().startswith("flightdata/")
    assert "FLIGHTDATA_BUNDLE_VERSION" in (built / "startup.sh").read_text()
    with zipfile.ZipFile(built / "plugins.zip") as plugins:  # the plugin at the root, its package beside it
        names = plugins.namelist()
    assert "flightdata_plugin.py" in names
    assert "flightdata/orchestration/webapp.py" in names
    assert "flightdata/orchestration/pages.html" in names
    assert "flightdata/orchestration/pages.js" in names
    assert not any(name.startswith(("flightdata/etl/", "flightdata/lambdas/")) for name in names)
    again = bundle.build(built.parent / "again")  # the same bytes: an unchanged zip is not re-deployed
    assert (built / "plugins.zip").read_bytes() == (again / "plugins.zip").read_bytes()
    assert not list(built.rglob("__pycache__"))


def test_bundle_parses_with_mwaas_path_layout(built, tmp_path):
    env = {
        "PYTHONPATH": str(built / "dags"),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", LOAD_LIKE_MWAA, str(built / "dags")], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])

    assert result["errors"] == {}
    assert result["dags"] == [
        "airflow_db_retention",
        "opensky_compaction",
        "opensky_daily_report",
        "opensky_state_vectors",
    ]
    assert result["flightdata"].startswith(str(built / "dags" / "flightdata"))
    assert all("/flightdata/" not in f for f in result["files"]), "the package was parsed for DAGs"


@pytest.fixture
def mwaa_bucket(aws_env):
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="fd-mwaa", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket="fd-mwaa", VersioningConfiguration={"Status": "Enabled"})
        yield s3


def stubbed_mwaa(current: dict, expected_update: dict | None):
    client = boto3.client("mwaa", region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.add_response("get_environment", {"Environment": current}, {"Name": "fd-airflow"})
    if expected_update is not None:
        stubber.add_response(
            "update_environment",
            {"Arn": "arn:aws:airflow:eu-west-1:1:environment/fd-airflow"},
            {"Name": "fd-airflow", **expected_update},
        )
    stubber.activate()
    return client, stubber


def test_first_deploy_uploads_everything_and_points_mwaa_at_the_versions(mwaa_bucket, built):
    # The versioned files go up first so the expected UpdateEnvironment call can name their
    # versions; deploy then finds them unchanged and reuses those versions.
    versions = deploy.upload_versioned(mwaa_bucket, "fd-mwaa", built)
    expected = {
        "RequirementsS3Path": "requirements.txt",
        "RequirementsS3ObjectVersion": versions["requirements.txt"],
        "StartupScriptS3Path": "startup.sh",
        "StartupScriptS3ObjectVersion": versions["startup.sh"],
        "PluginsS3Path": "plugins.zip",
        "PluginsS3ObjectVersion": versions["plugins.zip"],
    }
    client, stubber = stubbed_mwaa({"Name": "fd-airflow"}, expected)

    result = deploy.deploy(mwaa_bucket, client, "fd-mwaa", "fd-airflow", built)

    stubber.assert_no_pending_responses()
    assert result["environment_updated"] is True
    assert result["dags"]["unchanged"] == 0
    assert result["dags"]["uploaded"] == len([p for p in (built / "dags").rglob("*") if p.is_file()])
    keys = {o["Key"] for o in mwaa_bucket.list_objects_v2(Bucket="fd-mwaa", Prefix="dags/")["Contents"]}
    assert "dags/opensky_state_vectors.py" in keys
    assert "dags/flightdata/lake.py" in keys


def test_an_unchanged_bundle_does_not_restart_the_environment(mwaa_bucket, built):
    versions = deploy.upload_versioned(mwaa_bucket, "fd-mwaa", built)
    deploy.sync_dags(mwaa_bucket, "fd-mwaa", built)
    mwaa_bucket.put_object(Bucket="fd-mwaa", Key="dags/removed_dag.py", Body=b"# gone from the bundle")
    current = {
        "Name": "fd-airflow",
        "RequirementsS3Path": "requirements.txt",
        "RequirementsS3ObjectVersion": versions["requirements.txt"],
        "StartupScriptS3Path": "startup.sh",
        "StartupScriptS3ObjectVersion": versions["startup.sh"],
        "PluginsS3Path": "plugins.zip",
        "PluginsS3ObjectVersion": versions["plugins.zip"],
    }
    client, stubber = stubbed_mwaa(current, None)

    result = deploy.deploy(mwaa_bucket, client, "fd-mwaa", "fd-airflow", built)

    stubber.assert_no_pending_responses()
    assert result["environment_updated"] is False
    assert result["dags"] == {"uploaded": 0, "deleted": 1, "unchanged": result["dags"]["unchanged"]}
    keys = {o["Key"] for o in mwaa_bucket.list_objects_v2(Bucket="fd-mwaa", Prefix="dags/")["Contents"]}
    assert "dags/removed_dag.py" not in keys
