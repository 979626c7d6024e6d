"""What every flightdata DAG shares: owner, retries, tags, template search path and macros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flightdata.orchestration.templating import TemplateFacts

SQL_DIR = str(Path(__file__).resolve().parents[1] / "sql")
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = "flightdata"

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=2),
}
MACROS = {"fd": TemplateFacts()}
