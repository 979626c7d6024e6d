"""Fixtures shared by every test tier. Servers bind to 127.0.0.1 and stop with the test."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensky_sim import running
from opensky_sim.server import RunningSimulator

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Airflow reads its settings at import: give it a throwaway home before any test imports it."""
    home = tempfile.mkdtemp(prefix="flightdata-airflow-home-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parents[1] / "dags")


@pytest.fixture
def fixture_json():
    def load(name: str):
        return json.loads((FIXTURES / name).read_text())

    return load


@pytest.fixture(scope="session")
def opensky_sim_session() -> Iterator[RunningSimulator]:
    with running() as sim:
        yield sim


@pytest.fixture
def opensky_sim(opensky_sim_session: RunningSimulator) -> Iterator[RunningSimulator]:
    """The session's simulator, reset (faults, tokens, credits) for each test."""
    opensky_sim_session.simulator.reset()
    yield opensky_sim_session
    opensky_sim_session.simulator.reset()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so no test can reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
