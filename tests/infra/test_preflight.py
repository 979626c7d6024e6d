"""make preflight: the bundle in an environment built the way MWAA 3.0.6 builds its own.

The environment is built once per session (build/preflight, reused while its inputs are
unchanged); each test loads a bundle in it for real.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from flightdata_cdk import bundle, preflight


@pytest.fixture(scope="session")
def mwaa_python() -> Path:
    return preflight.environment()


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


def test_the_project_bundle_passes(mwaa_python, bundle_copy):
    report = preflight.run(bundle_copy, mwaa_python)

    assert report.problems == []
    assert set(report.dags) >= {"opensky_state_vectors", "opensky_compaction", "opensky_daily_report"}
    assert report.tasks > 0
    # the plugin loads from plugins.zip alone (flightdata is not installed here), with its pages and links
    assert report.plugins["flightdata"] == {
        "apps": ["/flightdata"],
        "links": ["Raw snapshot", "Objects written", "Athena query", "Report", "Quality dashboard"],
    }


def test_a_dag_importing_what_mwaa_lacks_fails_with_the_module_named(mwaa_python, bundle_copy):
    # GIVEN a copy of the bundle whose DAG file imports a package only the laptop has
    flights = bundle_copy / "dags" / "opensky_state_vectors.py"
    flights.write_text(flights.read_text() + "\nimport duckdb  # noqa: E402, F401\n")

    # WHEN the preflight loads it
    report = preflight.run(bundle_copy, mwaa_python)

    # THEN it fails and names the file and the module
    assert not report.ok
    assert any("opensky_state_vectors.py" in p and "duckdb" in p for p in report.problems), report.problems


def test_a_flightdata_module_that_reaches_pyarrow_fails(mwaa_python, bundle_copy):
    retention = bundle_copy / "dags" / "flightdata" / "orchestration" / "retention.py"
    retention.write_text(retention.read_text() + "\nimport pyarrow  # noqa: E402, F401\n")

    report = preflight.run(bundle_copy, mwaa_python)

    assert any("pyarrow" in p for p in report.problems), report.problems


def test_a_pin_the_constraints_contradict_is_named(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        '--constraint "https://example.invalid/c.txt"\napache-airflow-providers-amazon==8.0.0\nboto3\n'
    )

    (problem,) = preflight.check_requirements(requirements)

    assert "apache-airflow-providers-amazon==8.0.0" in problem
    assert "9.12.0" in problem


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
