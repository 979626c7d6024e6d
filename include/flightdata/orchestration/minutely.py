"""The minutely run: payloads for the Lambdas, Glue partitions to add, quality metrics to publish.

Pure functions of their inputs; the AWS calls take a boto3 client, so the same code runs
against AWS or the local endpoint (the ``aws_default`` connection decides).
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdata import credits, lake, payloads, resources
from flightdata.orchestration.compat import AirflowSkipException

log = logging.getLogger(__name__)

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
    plan = credit_plan(DEFAULT_REGIONS, DEFAULT_CREDIT_RESERVE)
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


def ingestion_payloads(
    snapshot_time: datetime, regions: list[dict[str, Any]], credit_reserve: int, credits_remaining: int | None = None
) -> list[str]:
    """One ingestion event per region, as the JSON the Lambda operator sends (with the
    credits last known left, when known)."""
    if credit_reserve < 0:
        raise ValueError(f"credit_reserve must be 0 or more, got {credit_reserve}")
    names = [r["name"] for r in regions]
    if len(set(names)) != len(names):
        raise ValueError(f"region names must be unique, got {names}")
    when = lake.as_utc(snapshot_time).replace(second=0, microsecond=0)
    return [
        json.dumps(
            {
                "snapshot_time": when.isoformat(),
                "region": region["name"],
                "bbox": region.get("bbox"),
                "credit_reserve": credit_reserve,
                **({} if credits_remaining is None else {"credits_remaining": credits_remaining}),
            }
        )
        for region in regions
    ]


def answer(result: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """A Lambda's answer or payload: a dict (as the operators push it) or its JSON."""
    return result if isinstance(result, dict) else json.loads(result)


def payload_region(payload: str | bytes | dict[str, Any] | None) -> str:
    """The region a minutely Lambda payload names: the label of its mapped task instance."""
    try:
        return str(answer(payload or "{}").get("region") or "?")
    except (ValueError, AttributeError):
        return "?"


def ingest_summary(landed: dict[str, Any]) -> str:
    """The ingest task's log line: what OpenSky gave, what it cost, where it landed."""
    return (
        f"region={landed.get('region')} records={landed.get('records')} "
        f"credits_spent={landed.get('credits_spent')} credits_left={landed.get('credits_remaining')} "
        f"attempts={landed.get('attempts')} -> s3://{landed.get('bucket')}/{landed.get('raw_key')}"
    )


def transform_summary(report: dict[str, Any]) -> str:
    """The transform task's log line: records, how many were valid, and the keys written."""
    quality = report.get("quality_score")
    keys = report.get("keys") or {}
    written = ", ".join(f"{kind}={key}" for kind, key in sorted(keys.items())) or "nothing"
    return (
        f"region={report.get('region')} records={report.get('records')} valid={report.get('valid')} "
        f"quarantined={report.get('quarantined')} quality={'n/a' if quality is None else f'{quality:.2%}'} "
        f"-> s3://{report.get('bucket')}: {written}"
    )


def committed_extra(snapshot_time: datetime, transformed: list[str] | list[dict[str, Any]]) -> dict[str, Any]:
    """The ``extra`` of the processed asset's event for a committed minute: its partition, and
    the records, valid records and quality over its regions."""
    reports = [answer(result) for result in transformed if result]
    records = sum(int(r.get("records") or 0) for r in reports)
    valid = sum(int(r.get("valid") or 0) for r in reports)
    return {
        "snapshot_time": lake.as_utc(snapshot_time).isoformat(),
        "partition": lake.partition_path(snapshot_time),
        "regions": sorted(str(r.get("region")) for r in reports),
        "records": records,
        "valid": valid,
        "quality": round(valid / records, 4) if records else None,
    }


def transform_payload(ingest_result: str | dict[str, Any]) -> str:
    landed = answer(ingest_result)
    return json.dumps(
        {
            "bucket": landed["bucket"],
            "raw_key": landed["raw_key"],
            "snapshot_time": landed["snapshot_time"],
            "region": landed["region"],
        }
    )


def quality_summaries(
    ingested: list[str] | list[dict[str, Any]], transformed: list[str] | list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each region's quality summary (the transform's result) with the OpenSky credits its
    ingestion reported left; regions that were skipped or failed have no summary."""
    credits = {(landed := answer(result))["region"]: landed.get("credits_remaining") for result in ingested}
    return [
        {**(summary := answer(result)), "credits_remaining": credits.get(summary["region"])} for result in transformed
    ]


def is_late(snapshot_time: datetime, now: datetime | None = None) -> bool:
    """Whether a minute committed so late that its hour's compaction may have read the hour
    without it (a retry, a manual rerun, a cleared task): then the hour is compacted again."""
    hour_end = lake.as_utc(snapshot_time).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (now or datetime.now(UTC)) >= hour_end + RUN_TIMEOUT


RECOMPACTION_WINDOW = timedelta(minutes=10)


def recompaction(snapshot_time: datetime, now: datetime | None = None) -> dict[str, str] | None:
    """The opensky_compaction run a late minute asks for (its run id and the hour), or None
    when the minute is on time.

    Late minutes of one hour within the same 10 minutes share one run (a backfill of an hour
    asks once, not 60 times): the run waits for every queued or running minute of the hour,
    so it includes them. A minute that commits after that run has read the hour, within
    the same 10 minutes, waits for the next late minute or shows up unreconciled in the
    daily report."""
    now = now or datetime.now(UTC)
    if not is_late(snapshot_time, now):
        return None
    window = int(now.timestamp() // RECOMPACTION_WINDOW.total_seconds())
    hour = f"{lake.as_utc(snapshot_time):%Y-%m-%dT%H}"
    return {"run_id": f"recompact__{hour}__{window}", "hour": hour}


def register_partitions(glue: Any, names: resources.Resources, snapshot_time: datetime) -> list[str]:
    """Add the hour partition of the processed, quarantine and commit tables when it is new."""
    values = lake.partition_values(snapshot_time)
    added = []
    for kind in (resources.PROCESSED, resources.QUARANTINE, resources.COMMITS):
        table = glue.get_table(DatabaseName=names.glue_database, Name=names.tables[kind])["Table"]
        descriptor = copy.deepcopy(table["StorageDescriptor"])
        descriptor["Location"] = f"{names.table_location(kind)}{lake.partition_path(snapshot_time)}/"
        try:
            glue.create_partition(
                DatabaseName=names.glue_database,
                TableName=table["Name"],
                PartitionInput={"Values": list(values.values()), "StorageDescriptor": descriptor},
            )
            added.append(f"{table['Name']}/{lake.partition_path(snapshot_time)}")
        except glue.exceptions.AlreadyExistsException:
            log.info("partition %s of %s exists already", values, table["Name"])
    return added
