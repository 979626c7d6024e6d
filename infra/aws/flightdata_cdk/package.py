"""``make package``: the Lambda deployment package, built without Docker.

uv (pinned by the MWAA constraints) fetches manylinux wheels for the functions' platform
(arm64, CPython 3.12) with ``--only-binary``; the flightdata modules the handlers import are copied beside
them, and the ETL's C reader is compiled for that platform (``native.py``).

Every module ships with its bytecode. Lambda's /var/task is read-only, so without it each
cold start compiles every module it imports (numpy and pyarrow's Python parts for the
transform function) and cannot keep the result. The bytecode is hash-based and unchecked:
it does not depend on file times, which a zip does not keep, and the zip is immutable, so
the source never needs checking. Tracebacks name the files where Lambda unpacks them.
The zip is reproducible: fixed timestamps, sorted entries, bytecode without build paths.
"""

from __future__ import annotations

import compileall
import fcntl
import hashlib
import py_compile
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from flightdata_cdk import native

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parents[1]
REQUIREMENTS = HERE / "lambda-requirements.txt"
PACKAGE_SOURCE = ROOT / "include" / "flightdata"
BUILD = ROOT / "build" / "lambda"
ZIP_PATH = BUILD / "flightdata-lambda.zip"
PLATFORM = f"aarch64-{native.MANYLINUX}"  # Lambda's arm64
RUNTIME_PYTHON = (3, 12)  # bytecode only loads on the version that wrote it
TASK_ROOT = "/var/task"  # where Lambda unpacks a zip
UV = Path(sys.executable).with_name("uv")
# Left out: test suites and type stubs nobody imports at run time.
SKIP_PARTS = {"tests", "test"}
SKIP_SUFFIXES = {".pyi"}
# Libraries built from the sources, for one machine each: populate builds the target's own.
BUILT_SUFFIXES = {".so", ".partial"}
# Parts of the flightdata package no Lambda handler imports (the import contracts in
# pyproject.toml keep it so): the Airflow adapter, its SQL, and the command line.
NOT_IN_LAMBDA = ("orchestration", "sql", "reporting.py", "cli.py")


def lambda_sources() -> list[Path]:
    """The files of the flightdata package that go into the functions' code, sorted."""
    return [
        path
        for path in sorted(PACKAGE_SOURCE.rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in BUILT_SUFFIXES
        and path.relative_to(PACKAGE_SOURCE).parts[0] not in NOT_IN_LAMBDA
    ]


def _inputs_digest() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    for recipe in (Path(__file__), Path(native.__file__)):  # a change of recipe is a change of inputs
        digest.update(recipe.read_bytes())
    for path in lambda_sources():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def populate(site: Path, target_platform: str = PLATFORM, bytecode: bool = True) -> None:
    """Install the requirements for ``target_platform`` into the empty directory ``site``,
    copy the flightdata modules beside them, build the ETL's C reader for that platform and,
    unless told not to, compile the modules' bytecode."""
    site.mkdir(parents=True)
    subprocess.run(  # noqa: S603 - uv from our own venv
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--target",
            str(site),
            "--python-platform",
            target_platform,
            "--python-version",
            "3.12",
            "--only-binary",
            ":all:",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    for path in lambda_sources():
        target = site / "flightdata" / path.relative_to(PACKAGE_SOURCE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    native.build(target_platform, site / "flightdata" / "etl")
    if bytecode:
        compile_bytecode(site)


def compile_bytecode(site: Path) -> None:
    """Write every module's bytecode into its ``__pycache__``, as the runtime would read it."""
    if sys.version_info[:2] != RUNTIME_PYTHON:
        raise RuntimeError(f"bytecode for the python{'.'.join(map(str, RUNTIME_PYTHON))} runtime needs that Python")
    compiled = compileall.compile_dir(
        site,
        quiet=2,
        stripdir=str(site),
        prependdir=TASK_ROOT,
        workers=0,
        rx=re.compile(r"/tests?/"),  # left out of the zip anyway
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"a module under {site} does not compile")


def build(force: bool = False) -> Path:
    """Build the zip unless one from the same inputs exists; return its path. One process
    builds at a time (the CDK app and the tests may ask at once); the others wait, then use it."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with (BUILD / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(force)


def _build(force: bool) -> Path:
    stamp = BUILD / "inputs.sha256"
    digest = _inputs_digest()
    if not force and ZIP_PATH.exists() and stamp.exists() and stamp.read_text() == digest:
        return ZIP_PATH
    site = BUILD / "python"
    shutil.rmtree(site, ignore_errors=True)
    populate(site)
    tmp = ZIP_PATH.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(site.rglob("*")):
            relative = path.relative_to(site)
            if not path.is_file() or SKIP_PARTS & set(relative.parts) or path.suffix in SKIP_SUFFIXES:
                continue
            info = zipfile.ZipInfo(str(relative), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    tmp.replace(ZIP_PATH)
    stamp.write_text(digest)
    return ZIP_PATH


if __name__ == "__main__":
    path = build(force="--force" in sys.argv)
    unzipped = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    print(f"{path} {path.stat().st_size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped")
