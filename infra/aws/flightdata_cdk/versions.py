"""The Airflow versions this project supports: those MWAA runs whose constraints it keeps a copy
of (``constraints/constraints-<version>-python3.12.txt``), the newest first and the default.

The Makefile reads the same files (``AIRFLOW_VERSIONS``); adding a version is adding its two
constraint files. No CDK here: the preflight and the cost estimate load this without it.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import Version

CONSTRAINTS = Path(__file__).resolve().parents[3] / "constraints"
_FILE = re.compile(r"constraints-(\d+\.\d+\.\d+)-python3\.12\.txt")

SUPPORTED_AIRFLOW_VERSIONS: tuple[str, ...] = tuple(
    sorted(
        (match.group(1) for path in CONSTRAINTS.iterdir() if (match := _FILE.fullmatch(path.name))),
        key=Version,
        reverse=True,
    )
)
DEFAULT_AIRFLOW_VERSION = SUPPORTED_AIRFLOW_VERSIONS[0]
