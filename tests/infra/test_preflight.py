"""make preflight: the bundle in an environment built the way MWAA builds its own, for each
supported Airflow version.

Each version's environment is built once per session (build/preflight/<version>, reused while
its inputs are unchanged); each test loads a bundle in it for real.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from flightdata_cdk import bundle, preflight


@pytest.fixture(scope="session", params=preflight.IMAGES, ids=lambda image: image.version)
def image(request) -> preflight.MwaaImage:
    return request.param


@pytest.fixture(scope="session")
def mwaa_python(image) -> Path:
    return preflight.environment(image)


@pytest.fixture(scope="session")
def default_python() -> Path:
    return preflight.environment(preflight.DEFAULT)


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    return bundle.build(tmp_path / "mwaa")


def test_the_environment_has_what_mwaa_has_and_not_what_only_the_laptop_has(mwaa_python):
    def importable(module: str) -> bool:
        return subprocess.run([str(mwaa_python), "-c", f"import {module}"], capture_output=True).returncode == 0

    assert importable("airflow.providers.amazon.aws.operators.athena")
    assert importable("jsonschema")
    for dev_only in ("pyarrow", "duckdb", "moto", "localaws", "flightdata_local", "flightdata"):
        assert not importable(dev_only), f"{dev_only} is importable, but MWAA's environment does not have it"


def test_the_project_bundle_passes(image, mwaa_python, bundle_copy):
    report = preflight.run(bundle_copy, mwaa_python, image)

    assert report.problems == []
    assert set(report.dags) >= {"opensky_state_vectors", "opensky_compaction", "opensky_daily_report"}
    assert report.tasks > 0
    # the plugin loads from plugins.zip alone (flightdata is not installed here), with its pages and links
    assert report.plugins["flightdata"] == {
        "apps": ["/flightdata"],
        "links": ["Raw snapshot", "Objects written", "Athena query", "Report", "Quality dashboard"],
    }


def test_a_dag_importing_what_mwaa_lacks_fails_with_the_module_named(default_python, bundle_copy):
    # GIVEN a copy of the bundle whose DAG file imports a package only the laptop has
    flights = bundle_copy / "dags" / "opensky_state_vectors.py"
    flights.write_text(flights.read_text() + "\nimport duckdb  # noqa: E402, F401\n")

    # WHEN the preflight loads it
    report = preflight.run(bundle_copy, default_python)

    # THEN it fails and names the file and the module
    assert not report.ok
    assert any("opensky_state_vectors.py" in p and "duckdb" in p for p in report.problems), report.problems


def test_a_flightdata_module_that_reaches_pyarrow_fails(default_python, bundle_copy):
    retention = bundle_copy / "dags" / "flightdata" / "orchestration" / "retention.py"
    retention.write_text(retention.read_text() + "\nimport pyarrow  # noqa: E402, F401\n")

    report = preflight.run(bundle_copy, default_python)

    assert any("pyarrow" in p for p in report.problems), report.problems


def test_a_pin_the_constraints_contradict_is_named(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("apache-airflow-providers-amazon==8.0.0\nboto3\n")

    (problem,) = preflight.check_requirements(requirements, preflight.MwaaImage("3.0.6"))

    assert "apache-airflow-providers-amazon==8.0.0" in problem
    assert "Airflow 3.0.6, which pin 9.12.0" in problem


def test_a_constraints_file_named_even_in_a_comment_is_refused(tmp_path):
    # MWAA's own check is a plain text search: a commented-out line still turns its constraints off.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text('# was: --constraint "https://example.invalid/c.txt"\nboto3\n')

    (problem,) = preflight.check_requirements(requirements)

    assert problem.startswith("requirements.txt:1: names a constraints file")


def test_a_broken_startup_script_and_a_nested_plugins_zip_are_named(tmp_path):
    script = tmp_path / "startup.sh"
    script.write_bytes(b"#!/bin/sh\r\nif then\r\n")
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as plugins:
        plugins.writestr("plugins/flightdata_plugin.py", "")

    problems = preflight.check_startup(script) + preflight.check_plugins_zip(archive)

    assert any("line ends" in p for p in problems)
    assert any("startup.sh:" in p and "syntax" in p.lower() for p in problems), problems
    assert any("at the root" in p for p in problems)
