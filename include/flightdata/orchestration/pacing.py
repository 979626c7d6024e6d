"""Credit pacing of the minutely runs: the day's OpenSky credit plan for the configured tier,
the minutes it fetches, and the credits left, remembered between runs in an Airflow Variable."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from flightdata import credits, lake
from flightdata.orchestration.compat import AirflowSkipException

log = logging.getLogger(__name__)


def credit_plan(regions: list[dict[str, Any]], reserve: int) -> credits.CreditPlan | None:
    """The OpenSky credit plan for the configured tier, or None when no tier is set."""
    tier = credits.tier_setting()
    return None if tier is None else credits.plan_credits(tier, regions, 1, reserve)


def check_pacing(minute: datetime, regions: list[dict[str, Any]], reserve: int) -> None:
    """Log the day's credit plan; skip (not fail) a minute the plan leaves out."""
    plan = credit_plan(regions, reserve)
    if plan is None:
        log.info("no OpenSky tier set (flightdata.opensky_tier): every minute fetches; see flightdata plan")
        return
    log.info("%s", plan.summary())
    if not plan.fetches_during(minute):
        raise AirflowSkipException(f"planned skip of {minute:%H:%M} UTC to make the credits last: {plan.summary()}")


def planned_minutes(hour: datetime) -> list[datetime]:
    """The minutes of ``hour`` the credit plan fetches (all 60 without a tier), for the
    default regions and reserve: what an hour's completeness is measured against."""
    plan = credit_plan([dict(r) for r in credits.DEFAULT_REGIONS], credits.DEFAULT_RESERVE)
    minutes = [hour + timedelta(minutes=m) for m in range(60)]
    return minutes if plan is None else [m for m in minutes if plan.fetches_during(m)]


# The OpenSky credits the latest minute found left, kept between runs: a cold Lambda knows
# none until OpenSky answers, so without them its first call of the day could cross the reserve.
CREDITS_VARIABLE = "flightdata_opensky_credits"


CREDITS_FRESH = timedelta(minutes=10)  # older than this, a count may predate a refill


def remember_credits(answers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Store the credits the ingestion answers (landed or skipped) report left, for the next
    minute's :func:`remembered_credits`; returns what was stored."""
    known = [a for a in answers if a.get("credits_remaining") is not None and a.get("snapshot_time")]
    if not known:
        return None
    latest = max(known, key=lambda a: a["snapshot_time"])
    record = {
        "snapshot_time": latest["snapshot_time"],
        "credits_remaining": min(int(a["credits_remaining"]) for a in known),
    }
    from airflow.sdk import Variable

    Variable.set(CREDITS_VARIABLE, json.dumps(record))
    return record


def remembered_credits(minute: datetime) -> int | None:
    """The credits left at a recent earlier minute, if :func:`remember_credits` stored them."""
    from airflow.sdk import Variable

    try:
        record = json.loads(Variable.get(CREDITS_VARIABLE, default="null")) or {}
        at = lake.parse_snapshot_time(record["snapshot_time"])
        left = int(record["credits_remaining"])
    except (ValueError, KeyError, TypeError):  # never stored, or not ours
        return None
    return left if timedelta(0) <= lake.as_utc(minute) - at <= CREDITS_FRESH else None
