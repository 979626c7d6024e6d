"""The minutely DAG's settings: its trigger form (the regions and the credit reserve), its
run timeout, and the minute a run fetches.

What the run does is elsewhere: ``pacing`` (the credit plan and the credits remembered
between minutes), ``lambda_calls`` (what the run sends its two functions and reads back),
``partitions`` (the hour's partitions in Glue), ``lateness`` (a late minute's
recompaction) and ``metrics`` (what it publishes to CloudWatch).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flightdata import credits, lake, payloads

REGIONS_SCHEMA = payloads.REGIONS  # the same contract the ingestion function checks
# A minutely run that has not finished by then is failed (its dagrun_timeout): the hour's
# compaction waits this long past the hour for the last runs.
RUN_TIMEOUT = timedelta(minutes=3)
DEFAULT_REGIONS: list[dict[str, Any]] = [dict(r) for r in credits.DEFAULT_REGIONS]
DEFAULT_CREDIT_RESERVE = credits.DEFAULT_RESERVE
# Shown in the trigger form's description (a schema "examples" key would turn the field
# into a multi-select of proposals in Airflow's UI).
EXAMPLE_REGIONS: list[dict[str, Any]] = [
    {"name": "alps", "bbox": {"lamin": 45.8, "lomin": 5.9, "lamax": 47.8, "lomax": 10.5}},
]
REGIONS_DESCRIPTION = (
    f"Named boxes, each fetched by its own mapped task: {json.dumps(EXAMPLE_REGIONS[0])} (degrees; a box "
    f"of at most {credits.BOX_COST_TIERS[0][0]:g} square degrees costs {credits.BOX_COST_TIERS[0][1]} credit). "
    f"Without bbox: the whole globe ({credits.GLOBAL_CALL_COST} credits)."
)


def snapshot_minute(logical_date: datetime | None, run_after: datetime) -> datetime:
    """The minute a run fetches: its logical date, or when it was due to run for a run
    triggered without one (Airflow 3's manual runs). The same for every task of the run."""
    return lake.as_utc(logical_date if logical_date is not None else run_after).replace(second=0, microsecond=0)
