"""docker-compose.yml against the Compose specification and against what the project has.

There is no Docker engine here, so the file is checked, not run.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import compose_spec
import pytest
import yaml

from flightdata.resources import Resources
from flightdata_cdk.versions import DEFAULT_AIRFLOW_VERSION, SUPPORTED_AIRFLOW_VERSIONS
from flightdata_local.__main__ import build_parser

ROOT = Path(__file__).parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
# As `docker compose` reads it with no AIRFLOW_VERSION set: every ${NAME:-default} is its default.
COMPOSE = yaml.safe_load(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", COMPOSE_TEXT))
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = ["api-server", "scheduler", "dag-processor", "triggerer"]


def flightdata_commands(service: str) -> list[list[str]]:
    command = SERVICES[service]["command"]
    script = command[-1] if command[0] == "sh" else " ".join(command)
    calls = re.split(r"&&|&|;", script)
    return [shlex.split(call)[1:] for call in calls if call.strip().startswith("flightdata-local ")]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_file_follows_the_compose_specification():
    # YAML merge keys (<<) are resolved first, as `docker compose config` does.
    compose = compose_spec.PyCompose.from_json(json.dumps(COMPOSE))

    assert {"postgres", "local-aws", "opensky-sim", *AIRFLOW_SERVICES} <= set(compose.service_names())


def test_airflow_is_the_version_mwaa_runs_the_default_unless_one_is_named():
    version = f"${{AIRFLOW_VERSION:-{DEFAULT_AIRFLOW_VERSION}}}"  # the default unless one is named

    assert f"image: apache/airflow:{version}-python3.12" in COMPOSE_TEXT
    assert SERVICES["api-server"]["image"] == f"apache/airflow:{DEFAULT_AIRFLOW_VERSION}-python3.12"
    # the tools install against the same version's constraints
    assert COMPOSE_TEXT.count(f'-c constraints/constraints-{version}-python3.12.txt "apache-airflow=={version}"') == 2
    for version in SUPPORTED_AIRFLOW_VERSIONS:
        assert (ROOT / "constraints" / f"constraints-{version}-python3.12.txt").exists()
    for service in AIRFLOW_SERVICES:
        assert SERVICES[service]["command"] == [service], f"{service} runs {SERVICES[service]['command']}"


@pytest.mark.parametrize("service", ["local-aws", "opensky-sim"])
def test_every_flightdata_local_command_is_one_the_cli_accepts(service):
    commands = flightdata_commands(service)

    assert commands, f"{service} runs no flightdata-local command"
    for args in commands:
        build_parser().parse_args(args)  # exits (SystemExit) on an unknown command or flag


def test_mounted_paths_exist():
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{source} is mounted but missing"


def test_ports_and_urls_agree():
    serve, deploy = flightdata_commands("local-aws")
    (sim,) = flightdata_commands("opensky-sim")
    airflow_env = SERVICES["api-server"]["environment"]
    connection = json.loads(airflow_env["AIRFLOW_CONN_AWS_DEFAULT"])["extra"]["endpoint_url"]

    assert f"127.0.0.1:{option(serve, '--port')}:{option(serve, '--port')}" in SERVICES["local-aws"]["ports"]
    assert urlsplit(connection).port == int(option(serve, "--port"))
    assert urlsplit(connection).hostname == "local-aws"
    assert urlsplit(option(deploy, "--opensky-url")).port == int(option(sim, "--port"))
    assert urlsplit(option(deploy, "--opensky-url")).hostname == "opensky-sim"


def test_every_container_uses_one_resource_prefix():
    airflow_prefix = SERVICES["api-server"]["environment"]["AIRFLOW__FLIGHTDATA__PREFIX"]
    tools_prefix = SERVICES["local-aws"]["environment"]["FLIGHTDATA_PREFIX"]

    assert airflow_prefix == tools_prefix
    assert Resources(airflow_prefix).prefix == airflow_prefix


def test_published_ports_listen_on_loopback_only():
    """The endpoint runs code and the UI has a known password: not for the local network."""
    published = {name: service.get("ports", []) for name, service in SERVICES.items() if service.get("ports")}

    assert set(published) == {"api-server", "opensky-sim", "local-aws"}
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_every_aws_client_reads_the_endpoints_credentials_file():
    state_volume = "local-aws-state:/state"
    for name in ("api-server", "scheduler", "local-aws"):
        service = SERVICES[name]
        assert service["environment"]["AWS_SHARED_CREDENTIALS_FILE"] == "/state/credentials", name
        assert "AWS_ACCESS_KEY_ID" not in service["environment"], name
        assert any(str(v).startswith(state_volume) for v in service["volumes"]), name


def test_make_up_serves_the_ui_on_loopback():
    from flightdata_local.airflow_stack import airflow_env

    env = airflow_env({"AIRFLOW_HOME": "/x"}, 8080, schedule=True, workers=1)

    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__PORT"] == "8080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"


def test_the_workflow_runs_the_tests_on_every_supported_version_the_default_first():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]

    assert tuple(job["strategy"]["matrix"]["airflow"]) == SUPPORTED_AIRFLOW_VERSIONS
    assert job["env"]["AIRFLOW_VERSION"] == "${{ matrix.airflow }}"  # make test reads it
