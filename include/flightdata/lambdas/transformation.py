"""Transform Lambda: one raw snapshot → processed and quarantine Parquet, plus its quality summary.

Environment: ``LAKE_BUCKET`` (default bucket when the event names none). S3 follows
``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import gzip
import os
import time
from typing import Any

from aws_lambda_powertools import Logger

from flightdata.etl.snapshot import process_snapshot
from flightdata.lake import SnapshotContext
from flightdata.lambdas.events import TransformEvent
from flightdata.storage import S3Store

# The function's name, which the stack sets in POWERTOOLS_SERVICE_NAME; this one only elsewhere.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "flightdata-transform")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = TransformEvent.parse(event)
    logger.append_keys(snapshot_time=request.snapshot_time.isoformat(), region=request.region)
    store = S3Store(request.bucket or os.environ["LAKE_BUCKET"])
    started = time.perf_counter()
    body = gzip.decompress(store.get(request.raw_key))
    read_s = time.perf_counter() - started
    context_ = SnapshotContext(request.snapshot_time, request.region)
    written = process_snapshot(store, body, context_, raw_key=request.raw_key)
    result = {
        "status": "ok",
        "bucket": store.bucket,
        "raw_key": request.raw_key,
        **written.report(),
        "timings": {"read_s": round(read_s, 3), "total_s": round(time.perf_counter() - started, 3)},
    }
    summary = written.result.summary
    logger.info(
        "processed snapshot",
        extra={"records": summary.records, "valid": summary.valid, "quality_score": summary.quality_score},
    )
    return result
