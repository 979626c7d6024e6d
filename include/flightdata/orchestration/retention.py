"""Keeping Airflow's metadata database small: ``airflow db clean`` for rows older than the
retention period, run where the database is.

On MWAA with Airflow 3, tasks cannot reach the metadata database, so the command goes
through the environment's CLI endpoint (``CreateCliToken``, then ``POST /aws_mwaa/cli``),
which is what MWAA documents for Airflow 3. Locally it is the ``airflow`` command itself.
``airflow db clean`` keeps the latest scheduled (non-manual) run of every DAG whatever its age.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)
_FAILED = re.compile(r"Traceback \(most recent call last\)|^(?:airflow(?: command)?|[\w.-]+): error: ", re.MULTILINE)
# Set by the CDK stack as the MWAA Airflow option flightdata.mwaa_environment; unset locally.
MWAA_ENVIRONMENT_VAR = "AIRFLOW__FLIGHTDATA__MWAA_ENVIRONMENT"

DEFAULT_KEEP_DAYS = 30
# The tables that grow with every run: about 1,440 minutely runs a day, with their task
# instances, XComs, logs and the rest.
TABLES = (
    "dag_run",
    "task_instance",
    "task_instance_history",
    "task_reschedule",
    "xcom",
    "log",
    "job",
    "asset_event",
    "trigger",
)


class RetentionError(RuntimeError):
    """``airflow db clean`` did not succeed; the message carries its output."""


@dataclass(frozen=True)
class CleanResult:
    before: datetime
    where: str
    output: str


def clean_command(before: datetime) -> list[str]:
    return [
        "db",
        "clean",
        "--clean-before-timestamp",
        before.astimezone(UTC).isoformat(timespec="seconds"),
        "--tables",
        ",".join(TABLES),
        "--skip-archive",
        "--yes",
    ]


def cutoff(now: datetime, keep_days: int) -> datetime:
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, got {keep_days}")
    return now.astimezone(UTC) - timedelta(days=keep_days)


def clean_on_mwaa(mwaa: Any, environment: str, before: datetime, session: Any = None) -> CleanResult:
    """Run the clean through the MWAA CLI endpoint of ``environment`` (``mwaa`` is a boto3 client)."""
    import requests

    token = mwaa.create_cli_token(Name=environment)
    response = (session or requests).post(
        f"https://{token['WebServerHostname']}/aws_mwaa/cli",
        headers={"Authorization": f"Bearer {token['CliToken']}", "Content-Type": "text/plain"},
        data=" ".join(clean_command(before)),
        timeout=300,
    )
    if response.status_code != 200:
        raise RetentionError(f"MWAA CLI endpoint answered {response.status_code}: {response.text[:500]}")
    answer = response.json()
    stdout = base64.b64decode(answer.get("stdout", "")).decode(errors="replace")
    stderr = base64.b64decode(answer.get("stderr", "")).decode(errors="replace")
    if _FAILED.search(stderr):
        raise RetentionError(f"airflow db clean failed on {environment}: {stderr[-2000:]}")
    return CleanResult(before, f"MWAA environment {environment}", stdout + stderr)


def clean_locally(before: datetime, env: dict[str, str] | None = None) -> CleanResult:
    """Run the clean with this machine's ``airflow`` command (its AIRFLOW_HOME and database)."""
    done = subprocess.run(  # noqa: S603 - Airflow's own command, with our arguments
        [sys.executable, "-m", "airflow", *clean_command(before)], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RetentionError(f"airflow db clean exited {done.returncode}: {done.stderr[-2000:]}")
    return CleanResult(before, "the local Airflow database", done.stdout + done.stderr)


def clean(keep_days: int, now: datetime | None, mwaa_client: Any = None) -> CleanResult:
    """Clean rows older than ``keep_days``: through MWAA when this runs on it, else locally.
    ``mwaa_client`` is called for a boto3 MWAA client only when needed."""
    before = cutoff(now or datetime.now(UTC), keep_days)  # a manual run has no logical date
    environment = os.environ.get(MWAA_ENVIRONMENT_VAR, "")
    result = clean_on_mwaa(mwaa_client(), environment, before) if environment else clean_locally(before)
    log.info("cleaned Airflow metadata older than %s (%d days) in %s", before.isoformat(), keep_days, result.where)
    return result
