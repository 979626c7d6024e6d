"""Fixtures shared by every test tier. Servers bind to 127.0.0.1 and stop with the test.

Tiers, each a marker given by where a test lives (``pytest -m unit`` and so on): ``unit``
(pure logic, milliseconds), ``dags`` (the DagBag, parsed once), ``infra`` (the CDK app, the
bundle, the preflight), ``integration`` (local servers), ``browser`` (Chromium) and ``soak``.
``make test`` runs them on one pytest-xdist worker per core: the tests on the shared stack
on one worker, in tier order (the soak, which kills the stack's endpoint, last), and every
other group on the others.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flightdata_local import airflow_stack
from flightdata_local.services import LocalServices, free_port, local_services
from localaws.server import RunningEndpoint
from localaws.server import running as endpoint_running
from opensky_sim import running
from opensky_sim.rest_api import RunningSimulator

FIXTURES = Path(__file__).parent / "fixtures"
TIERS = ("unit", "dags", "infra", "integration", "browser", "soak")


def tier(item: pytest.Item) -> str:
    """The tier of a test: its folder under tests/."""
    path = Path(str(item.fspath))
    folder = path.relative_to(Path(__file__).parent).parts[0]
    if folder not in TIERS:
        raise pytest.UsageError(f"{path}: tests live in a tier's folder ({', '.join(TIERS)})")
    return folder


def work_group(item: pytest.Item) -> str:
    """Which tests must share a pytest-xdist worker: those on the shared stack (one Airflow
    per session), those on the synthesised CDK app or the DagBag (built once per worker), and
    otherwise each module's tests (its module fixtures are built once)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if "shared_stack" in fixtures:
        return "stack"
    if "synthesised" in fixtures:
        return "cdk"
    if tier(item) == "dags":
        return "dags"
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(getattr(pytest.mark, tier(item)))
        item.add_marker(pytest.mark.xdist_group(work_group(item)))
    # The shared stack's tests first, as one unit of work: they take longest, so one worker
    # starts on them while the others take every other group. Then the tiers in order. The
    # sort is stable: files keep their order within a tier.
    items.sort(key=lambda item: (work_group(item) != "stack", TIERS.index(tier(item))))


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


@pytest.fixture(scope="session")
def local_aws() -> Iterator[RunningEndpoint]:
    """The local AWS endpoint in this process, on 127.0.0.1, for the tests that drive it
    without Airflow; each deploys its own resource prefix on it."""
    with endpoint_running(region="eu-west-1") as endpoint:
        yield endpoint


@dataclass(frozen=True)
class SharedStack:
    """The session's one local stack: simulator, endpoint and Airflow (scheduler, DAG
    processor, triggerer, API server), used by the end-to-end, browser and soak tests."""

    stack: LocalServices
    airflow: airflow_stack.AirflowProcesses
    api: airflow_stack.AirflowApi


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedStack]:
    """Started by the first test that asks for it, stopped at the end of the session. Tests
    that share it keep apart by the minutes, hours and days they run."""
    root = tmp_path_factory.mktemp("stack")
    with local_services(root) as stack, airflow_stack.running(stack, free_port()) as airflow:
        api = airflow_stack.AirflowApi(airflow)
        api.wait_for_dags()
        stack.note_dags_registered()
        yield SharedStack(stack, airflow, api)
