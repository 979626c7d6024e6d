"""``make preflight``: MWAA's own install, reproduced, with the bundle loaded in it, for each
Airflow version the project supports.

MWAA builds its image with the packages below (aws/amazon-mwaa-docker-images,
images/airflow/<version>/bootstrap/02-airflow/001-install-required-pip-packages.sh) against
Airflow's constraints and its own essential constraints, then installs the environment's
requirements.txt against the same constraints, as it does when the file names none. This
builds the same virtual environment under build/preflight/<version> (uv, from our copies of
both constraint files), then checks what ``make bundle`` built:

- requirements.txt: no constraints file named (MWAA then uses its own, for the environment's
  version; a named one would tie the bundle to one version); no pin the constraints contradict;
- startup.sh: a POSIX shell script MWAA can run (shebang, Unix line ends, ``sh -n``);
- plugins.zip: plugins at the root of the archive, no caches;
- the DAGs: parsed in a DagBag in that environment, with only the bundle on the path as
  MWAA puts it: 0 import errors, and every task's callable and every flightdata module
  the Airflow side uses importable there.

Differences from MWAA: psycopg2-binary stands in for psycopg2 (MWAA compiles it; the
module is the same), and uv resolves instead of pip.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from flightdata_cdk import bundle
from flightdata_cdk.versions import SUPPORTED_AIRFLOW_VERSIONS

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build" / "preflight"
UV = Path(sys.executable).with_name("uv")
# What MWAA's image installs before any requirements.txt, by Airflow version.
_MWAA_PACKAGES = (
    "apache-airflow-providers-amazon[aiobotocore]",
    "apache-airflow[celery,statsd]=={version}",
    "apache-airflow-providers-postgres",
    "apache-airflow-providers-fab",
    "celery[sqs]",
    "boto3-stubs[logs]",
    "boto3-stubs[sqs]",
    "psycopg2-binary",  # MWAA: psycopg2, compiled in the image
    "pycurl",
    "watchtower",
    "fluent-logger",
    "virtualenv",
    "apache-airflow-providers-standard",
)
_MWAA_PACKAGES_SINCE_3_3 = ("apache-airflow-core[gunicorn]=={version}",)
# What MWAA's requirements check takes for a constraints file: a plain search, comments included.
_NAMES_CONSTRAINTS = re.compile(r"-c |--constraint ")


@dataclass(frozen=True)
class MwaaImage:
    """What MWAA installs for one Airflow version, and where the preflight reproduces it."""

    version: str

    @property
    def constraints(self) -> Path:
        return ROOT / "constraints" / f"constraints-{self.version}-python3.12.txt"

    @property
    def essential_constraints(self) -> Path:
        return ROOT / "constraints" / f"mwaa-essential-constraints-{self.version}.txt"

    @property
    def packages(self) -> tuple[str, ...]:
        since_3_3 = _MWAA_PACKAGES_SINCE_3_3 if Version(self.version) >= Version("3.3") else ()
        return tuple(p.format(version=self.version) for p in (*_MWAA_PACKAGES, *since_3_3))

    @property
    def venv(self) -> Path:
        return BUILD / self.version / "venv"


IMAGES = tuple(MwaaImage(version) for version in SUPPORTED_AIRFLOW_VERSIONS)
DEFAULT = IMAGES[0]


# Run by the preflight environment's Python: parse the bundle's DAGs as MWAA does.
LOAD_BUNDLE = r"""
import importlib, inspect, json, pkgutil, sys
from flightdata.orchestration.compat import dag_bag

dags_folder = sys.argv[1]
bag = dag_bag(dags_folder, safe_mode=False)
problems = [f"{path}: {error.strip().splitlines()[-1]}" for path, error in sorted(bag.import_errors.items())]
tasks = 0
for dag in bag.dags.values():
    for task in dag.tasks:
        tasks += 1
        function = getattr(task, "python_callable", None)
        if function is None:
            continue
        module = inspect.getmodule(function)
        if module is None:
            problems.append(f"{dag.dag_id}.{task.task_id}: its callable has no module")
        elif not module.__name__.startswith("unusual_prefix_"):  # not defined in the DAG file itself
            try:
                found = importlib.import_module(module.__name__)
                for part in function.__qualname__.split("."):
                    found = getattr(found, part)
            except (ImportError, AttributeError) as exc:
                name = f"{module.__name__}.{function.__qualname__}"
                problems.append(f"{dag.dag_id}.{task.task_id}: callable {name}: {exc}")
import flightdata, flightdata.orchestration
if not flightdata.__file__.startswith(dags_folder):
    problems.append(f"flightdata came from {flightdata.__file__}, not from the bundle")
for info in pkgutil.walk_packages(flightdata.orchestration.__path__, "flightdata.orchestration."):
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        problems.append(f"{info.name}: {exc}")
from flightdata.orchestration.compat import loaded_plugins
loaded, plugin_errors = loaded_plugins()
for path, error in plugin_errors.items():
    problems.append(f"plugin {path}: {error.strip().splitlines()[-1]}")
plugins = {
    plugin.name: {
        "apps": [app["url_prefix"] for app in plugin.fastapi_apps],
        "links": [link.name for link in plugin.operator_extra_links],
    }
    for plugin in loaded
}
print(json.dumps({"dags": sorted(bag.dag_ids), "tasks": tasks, "problems": problems, "plugins": plugins}))
"""


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    dags: list[str] = field(default_factory=list)
    tasks: int = 0
    plugins: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # name -> its apps and links

    @property
    def ok(self) -> bool:
        return not self.problems


def _user_requirements(requirements: Path) -> list[str]:
    """requirements.txt's lines without comments or options (MWAA reads --constraint itself)."""
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def _pins(constraints: Path) -> dict[str, str]:
    pins = {}
    for raw in constraints.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_canonical(name)] = version.strip()
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower().strip()


def environment(image: MwaaImage = DEFAULT, force: bool = False) -> Path:
    """The preflight virtual environment's Python, built unless one from the same inputs exists."""
    requirements = ROOT / "requirements.txt"
    digest = hashlib.sha256()
    for path in (image.constraints, image.essential_constraints, requirements):
        digest.update(path.read_bytes())
    digest.update("\n".join(image.packages).encode())
    stamp = image.venv / ".inputs.sha256"
    python = image.venv / "bin" / "python"
    if not force and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return python
    shutil.rmtree(image.venv, ignore_errors=True)
    image.venv.parent.mkdir(parents=True, exist_ok=True)
    base_python = Path(getattr(sys, "_base_executable", sys.executable))
    # no pip: uv installs into it (and ensurepip once failed there on a busy machine)
    subprocess.run([str(base_python), "-m", "venv", "--without-pip", str(image.venv)], check=True)  # noqa: S603
    constraints = ["-c", str(image.constraints), "-c", str(image.essential_constraints)]
    install = [str(UV), "pip", "install", "--quiet", "--python", str(python)]
    subprocess.run([*install, *constraints, *image.packages], check=True)  # noqa: S603
    # requirements.txt against the same constraints, as MWAA installs a file that names none.
    user = image.venv / "requirements-user.txt"
    user.write_text("\n".join(_user_requirements(requirements)) + "\n")
    subprocess.run([*install, *constraints, "-r", str(user)], check=True)  # noqa: S603
    stamp.write_text(digest.hexdigest())
    return python


def check_requirements(requirements: Path, image: MwaaImage = DEFAULT) -> list[str]:
    problems = []
    for number, line in enumerate(requirements.read_text().splitlines(), 1):
        if _NAMES_CONSTRAINTS.search(line):
            problems.append(
                f"requirements.txt:{number}: names a constraints file (MWAA's check finds it even in a comment); "
                "leave it out, so MWAA installs against its own constraints for the environment's Airflow version"
            )
    pins = {**_pins(image.constraints), **_pins(image.essential_constraints)}
    for line in _user_requirements(requirements):
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            problems.append(f"requirements.txt: {line!r} is not a requirement: {exc}")
            continue
        pinned = pins.get(_canonical(requirement.name))
        if requirement.specifier and pinned and not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(
                f"requirements.txt: {line!r} contradicts the constraints of Airflow {image.version}, which pin {pinned}"
            )
    return problems


def check_startup(script: Path) -> list[str]:
    if not script.exists():
        return ["startup.sh is missing from the bundle"]
    data = script.read_bytes()
    problems = []
    if not data.startswith((b"#!/bin/sh", b"#!/bin/bash", b"#!/usr/bin/env bash")):
        problems.append("startup.sh: the first line must be a shell shebang")
    if b"\r\n" in data:
        problems.append("startup.sh: Windows line ends (MWAA runs it with sh)")
    syntax = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)  # noqa: S603, S607
    if syntax.returncode:
        problems.append(f"startup.sh: {syntax.stderr.strip()}")
    return problems


def check_plugins_zip(archive: Path) -> list[str]:
    if not archive.exists():
        return []
    problems = []
    with zipfile.ZipFile(archive) as plugins:
        names = plugins.namelist()
        bad = plugins.testzip()
    if bad:
        problems.append(f"plugins.zip: {bad} is corrupt")
    if any(name.startswith("plugins/") for name in names):
        problems.append("plugins.zip: plugins sit under plugins/; MWAA expects them at the root of the archive")
    if any("__pycache__" in name or name.endswith(".pyc") for name in names):
        problems.append("plugins.zip: holds Python caches")
    if not any(name.endswith(".py") for name in names):
        problems.append("plugins.zip: holds no Python module")
    return problems


def load_bundle(python: Path, target: Path) -> Report:
    """Parse the bundle's DAGs with the preflight environment's Airflow."""
    with tempfile.TemporaryDirectory(prefix="flightdata-preflight-") as home:
        plugins = Path(home) / "plugins"
        plugins.mkdir()
        if (target / "plugins.zip").exists():
            with zipfile.ZipFile(target / "plugins.zip") as archive:
                archive.extractall(plugins)
        dags = str((target / "dags").resolve())
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": dags,
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "PYTHONPATH": os.pathsep.join([dags, str(plugins)]),  # MWAA's sys.path: dags and plugins
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
        out = subprocess.run(  # noqa: S603
            [str(python), "-c", LOAD_BUNDLE, dags], capture_output=True, text=True, env=env, cwd=home, timeout=600
        )
    if out.returncode:
        return Report(problems=[f"loading the bundle failed: {out.stderr.strip().splitlines()[-1:]}"])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return Report(problems=result["problems"], dags=result["dags"], tasks=result["tasks"], plugins=result["plugins"])


def run(target: Path | None = None, python: Path | None = None, image: MwaaImage = DEFAULT) -> Report:
    """Check a built bundle (``make bundle``'s by default) in one version's preflight environment."""
    target = target or bundle.build()
    python = python or environment(image)
    report = load_bundle(python, target)
    report.problems = [
        *check_requirements(target / "requirements.txt", image),
        *check_startup(target / "startup.sh"),
        *check_plugins_zip(target / "plugins.zip"),
        *report.problems,
    ]
    return report


def main(versions: list[str]) -> int:
    """``make preflight``: the bundle in each named version's environment (every supported one by default)."""
    unknown = sorted(set(versions) - set(SUPPORTED_AIRFLOW_VERSIONS))
    if unknown:
        print(f"preflight: Airflow {', '.join(unknown)} is not supported; supported: {SUPPORTED_AIRFLOW_VERSIONS}")
        return 2
    target = bundle.build()
    failed = 0
    for image in IMAGES:
        if versions and image.version not in versions:
            continue
        report = run(target, image=image)
        for problem in report.problems:
            print(f"preflight {image.version}: {problem}")
        print(
            f"preflight {image.version}: {'ok' if report.ok else 'FAILED'}: {len(report.dags)} DAGs, "
            f"{report.tasks} tasks, {len(report.problems)} problems, in {image.venv}"
        )
        failed += not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
