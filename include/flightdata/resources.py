"""Resource names: the one description both deployments (AWS CDK and the local endpoint) read.

Every name derives from a single prefix, so MWAA and a laptop differ by one setting:
``AIRFLOW__FLIGHTDATA__PREFIX`` (an MWAA Airflow configuration option ``flightdata.prefix``)
or ``FLIGHTDATA_PREFIX``. Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PREFIX = "flightdata-local"
PREFIX_ENV_VARS = ("AIRFLOW__FLIGHTDATA__PREFIX", "FLIGHTDATA_PREFIX")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{2,40}[a-z0-9]$")

# Prefixes inside the lake bucket, one per kind of data.
RAW = "raw"
PROCESSED = "processed"
QUARANTINE = "quarantine"
CURATED = "curated"
COMMITS = "commits"  # one small Parquet object per snapshot: the step that makes it visible
REPORTS = "reports"
FLIGHTS = "flights"  # one row per flight, partitioned by the UTC day it took off
REFERENCE = "reference"  # the reference tables, written by both deployments
AIRPORTS = f"{REFERENCE}/airports"
RUNWAYS = f"{REFERENCE}/runways"


class MetricName:
    """The CloudWatch metrics in the project's namespace: ``flightdata.orchestration.metrics``
    builds them (and the ingestion function logs OPENSKY_BLOCKED in the embedded metric
    format); the stack's alarms and dashboard and the plugin's overview page read them."""

    RECORDS = "Records"
    VALID_RECORDS = "ValidRecords"
    QUARANTINED_RECORDS = "QuarantinedRecords"
    QUALITY_SCORE = "QualityScore"
    COMPLETENESS = "Completeness"
    END_TO_END_LATENCY = "EndToEndLatency"
    CREDITS_REMAINING = "CreditsRemaining"  # per region, as its ingestion reported it
    CREDITS_SPENT = "CreditsSpent"
    CREDITS_LEFT = "CreditsLeft"  # over all regions: the account's
    PROJECTED_CREDITS_AT_REFILL = "ProjectedCreditsAtRefill"
    HOUR_COMPLETENESS = "HourCompleteness"
    COMPACTED_ROWS = "CompactedRows"
    HOURS_NOT_RECONCILED = "HoursNotReconciled"
    DEADLINE_MISSED = "DeadlineMissed"
    OPENSKY_BLOCKED = "OpenSkyBlocked"  # minutes OpenSky refused or could not be reached


BLOCKED_MINUTES_TO_ALARM = 5  # OPENSKY_BLOCKED minutes in a row before the stack alarms


class ConfigError(ValueError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Resources:
    """Names of every AWS resource the pipeline uses."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix):
            raise ConfigError(
                f"resource prefix {self.prefix!r} must be 4-42 characters of lowercase letters, digits "
                "and '-', starting with a letter (it names S3 buckets)"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Resources:
        env = os.environ if environ is None else environ
        for var in PREFIX_ENV_VARS:
            if env.get(var):
                return cls(env[var])
        return cls(DEFAULT_PREFIX)

    @property
    def lake_bucket(self) -> str:
        return f"{self.prefix}-lake"

    @property
    def athena_results_bucket(self) -> str:
        return f"{self.prefix}-athena-results"

    @property
    def athena_output_location(self) -> str:
        return f"s3://{self.athena_results_bucket}/results/"

    @property
    def ingestion_function(self) -> str:
        return f"{self.prefix}-ingestion"

    @property
    def transform_function(self) -> str:
        return f"{self.prefix}-transform"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}-lambda-dlq"

    @property
    def glue_database(self) -> str:
        return self.prefix.replace("-", "_")

    @property
    def workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def opensky_secret(self) -> str:
        return f"{self.prefix}/opensky-client"

    @property
    def metrics_namespace(self) -> str:
        """One CloudWatch namespace per deployment, so two stacks in one account never mix
        their metrics or trip each other's alarms."""
        return f"FlightData/{self.prefix}"

    @property
    def dashboard(self) -> str:
        """The CloudWatch dashboard's name."""
        return self.prefix

    def table_location(self, kind: str) -> str:
        return f"s3://{self.lake_bucket}/{kind}/"

    @property
    def tables(self) -> dict[str, str]:
        """Glue table name for each lake prefix that Athena reads."""
        return {
            PROCESSED: "processed",
            CURATED: "curated_hourly",
            QUARANTINE: "quarantine",
            RAW: "raw_snapshots",
            COMMITS: "snapshot_commits",
            AIRPORTS: "airports",
            RUNWAYS: "runways",
            FLIGHTS: "flights",
        }


@dataclass(frozen=True)
class FunctionSpec:
    """How each Lambda function is built and sized, shared by the CDK app and the local deploy."""

    name_attr: str
    handler: str
    timeout_s: int
    memory_mb: int
    reserved_concurrency: int
    reads_opensky: bool = False

    def environment(self, names: Resources, opensky_url: str | None = None) -> dict[str, str]:
        """The function's environment variables, the same in both deployments; ``opensky_url``
        points the ingestion function at the OpenSky simulator instead of the live API."""
        name = getattr(names, self.name_attr)
        variables = {
            "LAKE_BUCKET": names.lake_bucket,
            "FLIGHTDATA_PREFIX": names.prefix,
            "POWERTOOLS_SERVICE_NAME": name,
        }
        if self.reads_opensky:
            variables["OPENSKY_SECRET_NAME"] = names.opensky_secret
            if opensky_url:
                variables["OPENSKY_BASE_URL"] = opensky_url
        return variables


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("ingestion_function", "flightdata.lambdas.ingestion.handler", 50, 512, 5, reads_opensky=True),
    FunctionSpec("transform_function", "flightdata.lambdas.transformation.handler", 60, 1024, 5),
)
