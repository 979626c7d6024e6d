"""What ships to each place holds nothing from the laptop's or the deploy machine's side.

The Lambda zip and the MWAA bundle are built for real and their entries listed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import PurePosixPath

import pytest

from flightdata_cdk import bundle, package
from flightdata_local.provision import build_code_zip

# Anything from the dev side, by path part: the local endpoint and simulator, the CDK app,
# and the libraries only they use.
DEV_SIDE = {
    "localaws",
    "flightdata_local",
    "opensky_sim",
    "simulator",
    "flightdata_cdk",
    "moto",
    "duckdb",
    "sqlglot",
    "aws_cdk",
    "tests",
}


def dev_side(names: list[str]) -> list[str]:
    return [name for name in names if DEV_SIDE & set(PurePosixPath(name).parts)]


@pytest.fixture(scope="module")
def lambda_zip() -> list[str]:
    return zipfile.ZipFile(package.build()).namelist()


# Run in a fresh interpreter with the unpacked zip first on the path, as Lambda runs it, and
# bytecode writes off (/var/task is read-only): which modules had to be compiled from source?
HANDLERS = ("flightdata.lambdas.ingestion", "flightdata.lambdas.transformation")
COMPILED_AT_IMPORT = """
import importlib, json, sys
from importlib.machinery import SourceFileLoader

compiled = []
source_to_code = SourceFileLoader.source_to_code
def recording(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return source_to_code(self, data, path, *args, **kwargs)
SourceFileLoader.source_to_code = recording
task_root, handlers = sys.argv[1], sys.argv[2:]
for name in handlers:
    importlib.import_module(name)
print(json.dumps([path for path in compiled if path.startswith(task_root)]))
"""


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
    assert "dags/opensky_state_vectors.py" in mwaa_bundle
    assert "dags/flightdata/orchestration/minutely.py" in mwaa_bundle
    assert "dags/flightdata/sql/compact_hour.sql" in mwaa_bundle
    assert dev_side(mwaa_bundle) == []
    for lambda_side in ("etl", "lambdas", "opensky"):
        assert [n for n in mwaa_bundle if f"/flightdata/{lambda_side}/" in n] == []
    assert "dags/flightdata/cli.py" not in mwaa_bundle


def test_the_local_deploy_ships_the_same_flightdata_sources_as_the_aws_lambda_zip(lambda_zip, tmp_path):
    local = tmp_path / "local.zip"
    local.write_bytes(build_code_zip())

    # Bytecode is the AWS zip's alone: a local function's directory is writable, so Python
    # keeps its own after the first import. Each carries the C reader built for its machine.
    sources = [n for n in lambda_zip if n.startswith("flightdata/") and "__pycache__" not in n]
    aws_reader, local_reader = (f"flightdata/etl/_flat_arrays-{m}.so" for m in ("aarch64", platform.machine()))
    assert sorted(zipfile.ZipFile(local).namelist()) == sorted(
        [local_reader if n == aws_reader else n for n in sources]
    )


# ELF's e_machine (bytes 18-19, little-endian) for each architecture a reader is built for
ELF_MACHINES = {"aarch64": 183, "x86_64": 62}


def test_the_lambda_zip_carries_the_c_reader_built_for_lambdas_arm64_alone(lambda_zip):
    """Built by zig for Lambda's platform, whatever machine builds the zip; no other build
    (this machine's, from make setup) rides along."""
    readers = [n for n in lambda_zip if n.startswith("flightdata/etl/") and n.endswith(".so")]
    assert readers == ["flightdata/etl/_flat_arrays-aarch64.so"]
    header = zipfile.ZipFile(package.ZIP_PATH).read(readers[0])[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINES["aarch64"]


def test_a_cold_start_compiles_nothing_from_the_lambda_zip(lambda_zip, tmp_path):
    """Lambda cannot write bytecode into /var/task, so a zip without it compiles every module
    it imports on every cold start (numpy's and pyarrow's too, for the transform function)."""
    task_root = tmp_path / "task"
    # The handlers' own modules and the pure-Python libraries: those with native code are
    # built for arm64, so this machine takes them from the venv instead (flightdata's C reader
    # is loaded when a snapshot is read, not at import).
    native = {PurePosixPath(n).parts[0] for n in lambda_zip if ".so" in PurePosixPath(n).suffixes} - {"flightdata"}
    with zipfile.ZipFile(package.ZIP_PATH) as archive:
        archive.extractall(task_root, [n for n in lambda_zip if PurePosixPath(n).parts[0] not in native])
    paths = sysconfig.get_paths()
    run = subprocess.run(
        [sys.executable, "-S", "-c", COMPILED_AT_IMPORT, str(task_root), *HANDLERS],
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(task_root), paths["purelib"], paths["platlib"]]),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
    )

    assert run.stdout.strip() == "[]"
    pyc = zipfile.ZipFile(package.ZIP_PATH).read("flightdata/lambdas/__pycache__/ingestion.cpython-312.pyc")
    assert b"/var/task/flightdata/lambdas/ingestion.py" in pyc  # tracebacks name Lambda's paths
    assert str(package.ROOT).encode() not in pyc


def test_the_lambda_package_pins_what_the_default_airflow_versions_constraints_pin():
    """The functions run the ETL on the versions the tests run it on (the default venv's)."""
    from flightdata_cdk.versions import DEFAULT_AIRFLOW_VERSION

    constraints = package.ROOT / "constraints" / f"constraints-{DEFAULT_AIRFLOW_VERSION}-python3.12.txt"
    pinned = dict(line.split("==", 1) for line in constraints.read_text().splitlines() if "==" in line)
    pinned = {name.lower(): version.strip() for name, version in pinned.items()}
    ours = {}
    for line in package.REQUIREMENTS.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            ours[name.lower()] = version
    assert {name: version for name, version in ours.items() if pinned.get(name, version) != version} == {}
    assert {"numpy", "pyarrow", "orjson"} <= set(ours) & set(pinned)


def test_the_unpacked_lambda_package_stays_under_lambdas_limit():
    """Lambda refuses a function whose unzipped code passes 250 MB (bytecode included)."""
    unpacked = sum(info.file_size for info in zipfile.ZipFile(package.build()).infolist())
    assert unpacked < 250 * 1024 * 1024 * 0.95, f"{unpacked / 1024 / 1024:.0f} MB"
