"""``make bundle``: exactly what goes to the MWAA bucket, laid out as MWAA reads it.

build/mwaa/dags/             the DAG files, with the flightdata modules Airflow imports beside them
                             (MWAA puts the dags folder on the Python path)
build/mwaa/dags/.airflowignore  keeps the package out of DAG parsing
build/mwaa/requirements.txt  in MWAA's format (a --constraint line first)
build/mwaa/startup.sh        MWAA's startup script
build/mwaa/plugins.zip       the plugins at the archive's root, with the same flightdata package
                             beside them: the API server imports the plugin, and MWAA puts the
                             plugins folder on every component's path (the dags folder too, but
                             that is not documented for the web server)
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


def _write_zip(archive_path: Path, entries: list[tuple[Path, Path]]) -> None:
    """The same files give the same bytes (fixed times and order), so `make deploy` sees an
    unchanged plugins.zip as unchanged and does not restart the environment for it."""
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in sorted(entries, key=lambda entry: str(entry[1])):
            info = zipfile.ZipInfo(str(name), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


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
        package = sorted(p for p in (dags / "flightdata").rglob("*") if p.is_file())
        entries = [(path, path.relative_to(ROOT / "plugins")) for path in plugins]
        entries += [(path, path.relative_to(dags)) for path in package]
        _write_zip(target / "plugins.zip", entries)
    return target


if __name__ == "__main__":
    path = build()
    files = sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())
    print(f"{path}: {len(files)} files", file=sys.stdout)
