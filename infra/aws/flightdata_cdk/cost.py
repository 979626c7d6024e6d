"""What the AWS deployment costs a month, by component, before the first bill.

Three inputs, each kept in one place:
- the **prices**, a dated file per region (``data/prices-us-east-1.json``) naming the page
  each price comes from; ``--prices`` overrides any of them;
- the **workload**, measured on the local stack by ``make demo`` (``data/workload.json`` is
  the committed copy; ``--workload`` takes a fresh one): Lambda durations, bytes and objects
  per snapshot, hour and day under each lake prefix, bytes Athena scans per query;
- the **deployment's shape**, read from the CDK stack itself (environment class, workers,
  NAT gateways, endpoints, keys, secrets, alarms, dashboards, function sizes), so the
  estimate prices what ``cdk deploy`` would create.

How many snapshots a day come from the OpenSky credit plan (``flightdata.credits``): a
standard account fetches the globe on 1,000 minutes a day, not 1,440. What could not be
measured locally is an explicit :class:`Assumptions` value, printed with the estimate.
Free tiers are not applied. The stack's budget is the estimate plus a margin
(:func:`budget_usd`). The model only: ``flightdata_cdk.shape`` reads the stack's shape,
``flightdata_cdk.cost_cli`` is ``flightdata cost``, which prints the table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flightdata import credits, resources
from flightdata_cdk.lifecycle import (
    ATHENA_RESULTS_EXPIRY_DAYS,
    QUARANTINE_EXPIRY_DAYS,
    RAW_TO_GLACIER_DAYS,
    RAW_TO_IA_DAYS,
)

DATA = Path(__file__).parent / "data"
PRICES = DATA / "prices-us-east-1.json"
WORKLOAD = DATA / "workload.json"
HOURS_PER_MONTH = 730  # AWS's own monthly figure: 365 × 24 / 12
DAYS_PER_MONTH = 365 / 12
GB = 1024**3
TB = 1024**4
ENVIRONMENT_CLASSES = ("mw1.micro", "mw1.small", "mw1.medium", "mw1.large")  # the table's columns
ALL_CLASSES = (*ENVIRONMENT_CLASSES, "mw1.xlarge", "mw1.2xlarge")
BUDGET_MARGIN = 0.2  # the budget alerts at 80% of estimate × 1.2, so near 96% of the estimate
REPORT_MONTHS = (1, 12)


@dataclass(frozen=True)
class Assumptions:
    """What the local stack cannot measure; each is printed with the estimate."""

    nat_gb_per_month: float = 5.0  # MWAA's traffic to AWS APIs and PyPI; the Lambdas are outside the VPC
    mwaa_component_logs_gb_per_month: float = 2.0  # scheduler, DAG processor, web server, worker logs at INFO
    flow_logs_gb_per_month: float = 1.0  # VPC flow logs of that traffic
    metadata_db_gb: float = 1.0  # airflow_db_retention keeps the database small
    cold_start_share: float = 0.02  # invocations that start a new environment (billed init since 2025-08)


ASSUMED = Assumptions()


@dataclass(frozen=True)
class Shape:
    """What the stack deploys that has a price."""

    environment_class: str
    min_workers: int
    nat_gateways: int
    interface_endpoint_azs: int  # interface endpoints × the subnets each sits in
    kms_keys: int
    secrets: int
    alarms: int
    dashboards: int
    functions: dict[str, tuple[int, str]]  # spec name -> (memory MB, architecture)
    log_retention_days: int
    raw_expiry_days: int
    opensky_tier: str


@dataclass(frozen=True)
class Line:
    component: str
    item: str
    quantity: str
    usd: float


@dataclass
class Estimate:
    shape: Shape
    month: int
    snapshots_per_day: float
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_component(self) -> dict[str, float]:
        sums: dict[str, float] = {}
        for line in self.lines:
            sums[line.component] = sums.get(line.component, 0.0) + line.usd
        return sums


class Prices:
    """The price file, with overrides merged in; a missing or null price is a clear error."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @classmethod
    def load(cls, override: Path | None = None) -> Prices:
        document = json.loads(PRICES.read_text())
        if override is not None:
            _merge(document, json.loads(override.read_text()))
        return cls(document)

    def __call__(self, *path: str) -> float:
        value: Any = self.document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, int | float):
            where = ".".join(path)
            raise KeyError(f"no price for {where} in {PRICES.name}; give one with --prices (a JSON file)")
        return float(value)

    def has(self, *path: str) -> bool:
        try:
            self(*path)
        except KeyError:
            return False
        return True


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def load_workload(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or WORKLOAD).read_text())


# --- the estimate ----------------------------------------------------------------------------
def fetched_minutes_per_day(tier: str, regions: Sequence[dict[str, Any]] = credits.DEFAULT_REGIONS) -> int:
    """The minutes a day the credit plan fetches in (each fetches every region)."""
    plan = credits.plan_credits(tier, regions)
    return plan.fetches_per_period * plan.periods_per_day


def _stock_days(age_days: float, start: float, end: float) -> float:
    """Days' worth of daily output that sits between ``start`` and ``end`` days old."""
    return max(0.0, min(age_days, end) - start)


def estimate(
    shape: Shape,
    workload: dict[str, Any],
    prices: Prices,
    *,
    month: int = 1,
    minutes: float | None = None,
    regions: int = 1,
    assume: Assumptions = ASSUMED,
) -> Estimate:
    """The bill of month ``month`` after the deployment (storage grows until lifecycle rules
    expire it). Each of ``minutes`` a day (default: the shape's OpenSky tier's plan, one
    global region) fetches ``regions`` snapshots."""
    minutes = fetched_minutes_per_day(shape.opensky_tier) if minutes is None else minutes
    per_day = minutes * regions
    result = Estimate(shape, month, per_day)
    add = result.lines.append
    per_month = per_day * DAYS_PER_MONTH
    age = month * DAYS_PER_MONTH  # storage is priced as it stands at the month's end

    # MWAA
    hourly = prices("mwaa", "environment_hour", shape.environment_class)
    add(Line("MWAA", f"{shape.environment_class} environment", f"{HOURS_PER_MONTH} h", hourly * HOURS_PER_MONTH))
    extra = max(0, shape.min_workers - 1)
    if extra:
        worker = prices("mwaa", "additional_worker_hour", shape.environment_class)
        add(Line("MWAA", "always-on extra workers", f"{extra} × {HOURS_PER_MONTH} h", extra * worker * HOURS_PER_MONTH))
    add(
        Line(
            "MWAA",
            "metadata database storage (assumed)",
            f"{assume.metadata_db_gb:g} GB",
            assume.metadata_db_gb * prices("mwaa", "metadata_storage_gb_month"),
        )
    )

    # Lambda: every snapshot is one ingestion and one transform invocation.
    lambda_log_gb = 0.0
    for name, (memory_mb, arch) in shape.functions.items():
        measured = workload["lambda"][name]
        billed_ms = measured["mean_duration_ms"] + assume.cold_start_share * measured["mean_init_ms"]
        gb_seconds = per_month * billed_ms / 1000 * memory_mb / 1024
        label = name.removesuffix("_function")
        add(
            Line(
                "Lambda",
                f"{label}: {memory_mb} MB × {billed_ms:.0f} ms ({arch})",
                f"{gb_seconds:,.0f} GB-s",
                gb_seconds * prices("lambda", f"{arch}_gb_second"),
            )
        )
        add(
            Line(
                "Lambda",
                f"{label}: requests",
                f"{per_month:,.0f}",
                per_month / 1e6 * prices("lambda", "requests_per_million"),
            )
        )
        lambda_log_gb += per_month * measured["mean_log_bytes"] / GB

    # S3: storage by prefix, as old as the deployment, under the lake's lifecycle rules.
    def daily(section: str, prefix: str, units_per_day: float) -> tuple[float, float]:
        item = workload[section][prefix]
        return item["bytes"] * units_per_day / GB, item["objects"] * units_per_day

    raw_gb, raw_objects = daily("s3_per_snapshot", resources.RAW, per_day)
    tiers = {
        "standard": _stock_days(age, 0, RAW_TO_IA_DAYS),
        "standard_ia": _stock_days(age, RAW_TO_IA_DAYS, RAW_TO_GLACIER_DAYS),
        "glacier_flexible": _stock_days(age, RAW_TO_GLACIER_DAYS, shape.raw_expiry_days),
    }
    for tier, days in tiers.items():
        if days:
            add(
                Line(
                    "S3",
                    f"{resources.RAW}/ in {tier.replace('_', ' ')}",
                    f"{raw_gb * days:,.1f} GB",
                    raw_gb * days * prices("s3", f"{tier}_gb_month"),
                )
            )
    kept: list[tuple[str, float, float]] = []  # prefix, GB now stored, objects a day
    for prefix in (resources.PROCESSED, resources.COMMITS, resources.QUARANTINE):
        gb, objects = daily("s3_per_snapshot", prefix, per_day)
        days = _stock_days(age, 0, QUARANTINE_EXPIRY_DAYS if prefix == resources.QUARANTINE else math.inf)
        kept.append((prefix, gb * days, objects))
    gb, _ = daily("s3_per_compacted_snapshot", resources.CURATED, per_day)
    compactions = workload["s3_per_compacted_snapshot"][resources.CURATED]["objects"] * workload["athena"]["snapshots"]
    kept.append((resources.CURATED, gb * age, compactions * 24))
    gb, objects = daily("s3_per_day", resources.REPORTS, 1)
    kept.append((resources.REPORTS, gb * age, objects))
    results = workload["athena"]["result_bytes"]
    results_gb = (results.get("compaction", 0) * 24 + results.get("report", 0)) / GB
    kept.append(("Athena results", results_gb * min(age, ATHENA_RESULTS_EXPIRY_DAYS), 0.0))
    for prefix, stored_gb, _ in kept:
        add(Line("S3", f"{prefix}/ in standard", f"{stored_gb:,.2f} GB", stored_gb * prices("s3", "standard_gb_month")))
    puts = (raw_objects + sum(objects for _, _, objects in kept)) * DAYS_PER_MONTH
    add(Line("S3", "PUT requests", f"{puts:,.0f}", puts / 1000 * prices("s3", "put_per_thousand")))
    transitions = raw_objects * DAYS_PER_MONTH if age > RAW_TO_IA_DAYS else 0.0
    if transitions:
        per_object = prices("s3", "transition_ia_per_thousand")
        if age > RAW_TO_GLACIER_DAYS:
            per_object += prices("s3", "transition_glacier_per_thousand")
        add(Line("S3", "lifecycle transitions", f"{transitions:,.0f}", transitions / 1000 * per_object))

    # Athena: a query scans in proportion to the snapshots it covers (an hour's for compaction,
    # a day's for the report) and bills at least the minimum.
    minimum = prices("athena", "minimum_mb_per_query") * 1024**2
    scanned = workload["athena"]["bytes_scanned_per_query"]
    for phase, runs_per_day in (("compaction", 24), ("report", 1)):
        scale = per_day / runs_per_day / workload["athena"]["snapshots"]
        per_run = sum(max(b * scale, minimum) for b in scanned.get(phase, []))
        billed = per_run * runs_per_day * DAYS_PER_MONTH
        add(
            Line(
                "Athena",
                f"{phase} ({len(scanned.get(phase, []))} queries a run)",
                f"{billed / GB:,.1f} GB billed",
                billed / TB * prices("athena", "tb_scanned"),
            )
        )

    # Network
    if shape.nat_gateways:
        add(
            Line(
                "VPC",
                "NAT gateway hours",
                f"{shape.nat_gateways} × {HOURS_PER_MONTH} h",
                shape.nat_gateways * HOURS_PER_MONTH * prices("vpc", "nat_gateway_hour"),
            )
        )
        add(
            Line(
                "VPC",
                "NAT gateway data (assumed)",
                f"{assume.nat_gb_per_month:g} GB",
                assume.nat_gb_per_month * prices("vpc", "nat_gateway_gb"),
            )
        )
    if shape.interface_endpoint_azs:
        add(
            Line(
                "VPC",
                "interface endpoints",
                f"{shape.interface_endpoint_azs} AZ × {HOURS_PER_MONTH} h",
                shape.interface_endpoint_azs * HOURS_PER_MONTH * prices("vpc", "interface_endpoint_az_hour"),
            )
        )

    # KMS, Secrets Manager: the secret is read (and decrypted) when an environment starts.
    add(Line("KMS", "customer managed keys", f"{shape.kms_keys}", shape.kms_keys * prices("kms", "key_month")))
    cold_starts = per_month * assume.cold_start_share
    paid_requests = max(0.0, cold_starts - prices("kms", "free_requests_per_month"))
    add(Line("KMS", "requests", f"{cold_starts:,.0f}", paid_requests / 1e4 * prices("kms", "requests_per_10k")))
    add(
        Line(
            "Secrets Manager",
            "secrets and reads",
            f"{shape.secrets} · {cold_starts:,.0f} reads",
            shape.secrets * prices("secrets_manager", "secret_month")
            + cold_starts / 1e4 * prices("secrets_manager", "calls_per_10k"),
        )
    )

    # CloudWatch
    add(Line("CloudWatch", "alarms", f"{shape.alarms}", shape.alarms * prices("cloudwatch", "alarm_month")))
    add(
        Line(
            "CloudWatch",
            "dashboards",
            f"{shape.dashboards}",
            shape.dashboards * prices("cloudwatch", "dashboard_month"),
        )
    )
    metrics = workload["custom_metrics"]
    add(Line("CloudWatch", "custom metrics", f"{metrics}", metrics * prices("cloudwatch", "metric_month")))
    # One PutMetricData a fetched minute (quality and credits), one an hour, one a day.
    puts_metric = (minutes + 24 + 1) * DAYS_PER_MONTH
    add(
        Line(
            "CloudWatch",
            "PutMetricData requests",
            f"{puts_metric:,.0f}",
            puts_metric / 1000 * prices("cloudwatch", "put_metric_data_per_thousand"),
        )
    )
    task_log_gb = workload["airflow_task_log_bytes_per_minutely_run"] * minutes * DAYS_PER_MONTH / GB
    log_gb = lambda_log_gb + task_log_gb + assume.mwaa_component_logs_gb_per_month + assume.flow_logs_gb_per_month
    add(
        Line(
            "CloudWatch",
            "logs ingested (MWAA components, flow logs assumed)",
            f"{log_gb:,.2f} GB",
            log_gb * prices("cloudwatch", "logs_ingested_gb"),
        )
    )
    stored = log_gb * min(age, shape.log_retention_days) / DAYS_PER_MONTH
    add(
        Line(
            "CloudWatch",
            f"logs stored ({shape.log_retention_days}-day retention)",
            f"{stored:,.2f} GB",
            stored * prices("cloudwatch", "logs_stored_gb_month"),
        )
    )

    # Glue: hourly partitions of three tables; far inside the free objects and requests.
    partitions = 3 * 24 * age
    paid_objects = max(0.0, partitions - prices("glue", "free_objects"))
    add(
        Line(
            "Glue",
            "catalog objects",
            f"{partitions:,.0f}",
            paid_objects / 1e5 * prices("glue", "objects_per_100k_month"),
        )
    )
    return result


def budget_usd(estimate_: Estimate, margin: float = BUDGET_MARGIN) -> int:
    """The monthly budget for an estimate: a margin on top, rounded up to ten dollars."""
    return int(math.ceil(estimate_.total * (1 + margin) / 10) * 10)


def nat_versus_endpoints(prices: Prices, assume: Assumptions = ASSUMED, azs: int = 2) -> dict[str, float]:
    """A NAT gateway's month against one interface endpoint's in ``azs`` zones: how many
    endpoints replacing the NAT gateway would take before it stops saving money."""
    nat = HOURS_PER_MONTH * prices("vpc", "nat_gateway_hour")
    nat += assume.nat_gb_per_month * prices("vpc", "nat_gateway_gb")
    endpoint = azs * HOURS_PER_MONTH * prices("vpc", "interface_endpoint_az_hour")
    return {
        "nat_usd": round(nat, 2),
        "endpoint_usd": round(endpoint, 2),
        "break_even_endpoints": round(nat / endpoint, 2),
    }
