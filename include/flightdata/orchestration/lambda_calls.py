"""What a minutely run sends the ingestion and transform functions, and what it reads back:
the events as JSON, the answers, each task's log line, the quality summaries and the
processed asset's event ``extra``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flightdata import lake


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
