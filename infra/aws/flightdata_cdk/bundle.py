"""``make bundle``: exactly what goes to the MWAA bucket, laid out as MWAA reads it.

build/mwaa/dags/             the DAG files, with the flightdata modules Airflow imports beside them
                             (MWAA puts the dags folder on the Python path)
build/mwaa/dags/.airflowignore  keeps the package out of DAG parsing
build/mwaa/requirements.txt  in MWAA's format (a --constraint line first)
build/mwaa/startup.sh        MWAA's startup script
build/mwaa/plugins.zip       only when plugins/ holds a plugin
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "build" / "mwaa"
AIRFLOWIGNORE = "flightdata/\n__pycache__/\n"
# Parts of the flightdata package Airflow never imports (the import contracts in
# pyproject.toml keep it so): the Lambda side and the command line. MWAA's environment
# has no pyarrow, so shipping the ETL there would only invite an import that fails.
NOT_IN_BUNDLE = ("etl", "lambdas", "opensky", "cli.py")
STARTUP = """#!/bin/sh
# MWAA runs this before every Airflow component starts. It only records which bundle the
# environment runs, so a task log can be traced back to a commit.
export FLIGHTDATA_BUNDLE_VERSION="{version}"
echo "flightdata bundle ${{FLIGHTDATA_BUNDLE_VERSION}}"
"""


def _version() -> str:
    try:
        out = subprocess.run(  # noqa: S603
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git on PATH
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _plugin_files() -> list[Path]:
    return [p for p in sorted((ROOT / "plugins").rglob("*.py")) if "__pycache__" not in p.parts]


def build(target: Path = BUNDLE) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    dags = target / "dags"
    ignore_names = ("__pycache__", "*.pyc")
    ignore = shutil.ignore_patterns(*ignore_names)
    shutil.copytree(ROOT / "dags", dags, ignore=ignore)
    shutil.copytree(
        ROOT / "include" / "flightdata",
        dags / "flightdata",
        ignore=shutil.ignore_patterns(*ignore_names, *NOT_IN_BUNDLE),
    )
    (dags / ".airflowignore").write_text(AIRFLOWIGNORE)
    shutil.copy2(ROOT / "requirements.txt", target / "requirements.txt")
    startup = target / "startup.sh"
    startup.write_text(STARTUP.format(version=_version()))
    startup.chmod(0o755)
    plugins = _plugin_files()
    if plugins:
        with zipfile.ZipFile(target / "plugins.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for path in plugins:
                archive.write(path, path.relative_to(ROOT / "plugins"))
    return target


if __name__ == "__main__":
    path = build()
    files = sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())
    print(f"{path}: {len(files)} files", file=sys.stdout)
