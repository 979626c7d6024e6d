"""Ingestion Lambda: fetch one OpenSky snapshot and land it, gzipped and unchanged, under raw/.

Environment: ``LAKE_BUCKET``; ``OPENSKY_SECRET_NAME`` (Secrets Manager JSON with
``client_id`` and ``client_secret``, and optionally ``https_proxy``; anonymous when unset);
``OPENSKY_HTTPS_PROXY`` (a proxy when the secret names none); ``OPENSKY_BASE_URL`` to point
at the simulator instead of the live API. S3 and Secrets Manager follow ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
import orjson
from aws_lambda_powertools import Logger

from flightdata.lake import SnapshotContext, raw_object
from flightdata.lambdas.events import IngestionEvent
from flightdata.opensky.api import HISTORY_LIMIT_S, Endpoints
from flightdata.opensky.client import ClientCredentials, OpenSkyClient
from flightdata.opensky.errors import CreditBudgetExceeded, OpenSkyForbidden, OpenSkyUnreachable
from flightdata.resources import MetricName, Resources
from flightdata.storage import S3Store, default_s3_client

# The function's name, which the stack sets in POWERTOOLS_SERVICE_NAME; this one only elsewhere.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "flightdata-ingestion")

# Warm invocations reuse the client (its token and its last known credits).
_clients: dict[str, OpenSkyClient] = {}
SAFETY_MARGIN_S = 5.0


def reset_caches() -> None:
    _clients.clear()
    default_s3_client.cache_clear()


def load_secret(secret_name: str | None) -> tuple[ClientCredentials | None, str | None]:
    """The client credentials and the optional ``https_proxy`` from the OpenSky secret."""
    if not secret_name:
        return None, None
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_name)
    try:
        fields = orjson.loads(secret["SecretString"])
        return ClientCredentials(fields["client_id"], fields["client_secret"]), fields.get("https_proxy") or None
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"secret {secret_name!r} must be JSON with client_id and client_secret") from exc


def opensky_client() -> OpenSkyClient:
    secret_name = os.environ.get("OPENSKY_SECRET_NAME") or None
    cache_key = secret_name or "anonymous"
    if cache_key not in _clients:
        base_url = os.environ.get("OPENSKY_BASE_URL")
        endpoints = Endpoints.at(base_url) if base_url else Endpoints()
        credentials, proxy = load_secret(secret_name)
        proxy = proxy or os.environ.get("OPENSKY_HTTPS_PROXY") or None
        _clients[cache_key] = OpenSkyClient(endpoints, credentials, https_proxy=proxy)
    return _clients[cache_key]


def count_blocked(region: str) -> None:
    """One ``OpenSkyBlocked`` data point, in CloudWatch's embedded metric format in the log (no
    API call); the stack alarms after several blocked minutes in a row. Powertools' Metrics is
    imported here, on this rare path only, to keep it off every cold start."""
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    metrics = Metrics(namespace=Resources.from_env().metrics_namespace)
    metrics.add_metric(name=MetricName.OPENSKY_BLOCKED, unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="region", value=region)
    metrics.flush_metrics()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = IngestionEvent.parse(event)
    logger.append_keys(snapshot_time=request.snapshot_time.isoformat(), region=request.region)
    client = opensky_client()
    client.credit_reserve = request.credit_reserve
    if request.credits_remaining is not None:
        client.credits_remaining = request.credits_remaining
    budget = request.time_budget_s
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        budget = min(budget, context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_S)

    # Authenticated callers ask for the snapshot's own minute, so a rerun lands the same data.
    at_time = int(request.snapshot_time.timestamp())
    use_time = client.authenticated and 0 <= time.time() - at_time < HISTORY_LIMIT_S - 60
    started = time.perf_counter()
    try:
        fetched = client.fetch_states(
            request.bbox,
            extended=request.extended,
            at_time=at_time if use_time else None,
            time_budget_s=budget,
        )
    except (OpenSkyUnreachable, OpenSkyForbidden) as exc:
        count_blocked(request.region)
        logger.error("OpenSky blocked or unreachable: %s", exc)
        raise
    except CreditBudgetExceeded as exc:
        logger.warning("skipped: %s", exc)
        return {
            "status": "skipped",
            "reason": str(exc),
            "snapshot_time": request.snapshot_time.isoformat(),
            "region": request.region,
            "credits_remaining": exc.remaining,
        }
    fetch_s = time.perf_counter() - started

    store = S3Store(os.environ["LAKE_BUCKET"])
    context_ = SnapshotContext(request.snapshot_time, request.region)
    key, body, content_type = raw_object(fetched.body, context_)
    store.put(key, body, content_type)
    result = {
        "status": "ok",
        "bucket": store.bucket,
        "raw_key": key,
        "snapshot_time": request.snapshot_time.isoformat(),
        "region": request.region,
        "api_time": fetched.api_time,
        "records": fetched.record_count,
        "credits_spent": fetched.credits_spent,
        "credits_remaining": fetched.credits_remaining,
        "attempts": fetched.attempts,
        "timings": {"fetch_s": round(fetch_s, 3), "total_s": round(time.perf_counter() - started, 3)},
    }
    logger.info("landed raw snapshot", extra={k: result[k] for k in ("raw_key", "records", "credits_remaining")})
    return result
