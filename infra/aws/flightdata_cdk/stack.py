"""Everything flightdata runs on in AWS, in one stack of constructs with explicit inputs:
encryption, the buckets (``lake``), the Lambdas (``functions``), the Glue catalog and Athena
(``analytics``), MWAA in a private VPC (``airflow``), and alarms, dashboard and budget
(``monitoring``).

Names come from ``flightdata.resources`` and tables from ``flightdata.catalog``: the same
description the local endpoint deploys, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from flightdata import credits
from flightdata.resources import Resources
from flightdata_cdk import cost
from flightdata_cdk.airflow import Airflow
from flightdata_cdk.analytics import Analytics
from flightdata_cdk.buckets import Storage
from flightdata_cdk.functions import Functions
from flightdata_cdk.monitoring import Monitoring
from flightdata_cdk.shape import shape_of
from flightdata_cdk.versions import DEFAULT_AIRFLOW_VERSION, SUPPORTED_AIRFLOW_VERSIONS

__all__ = ["FlightDataStack", "Settings"]


@dataclass(frozen=True)
class Settings:
    """What differs between deployments, read from CDK context with these defaults."""

    env_name: str = "dev"
    prefix: str = ""
    # The newest version MWAA runs that this project supports; see docs/deploying.md when a
    # region or CloudFormation refuses it.
    airflow_version: str = DEFAULT_AIRFLOW_VERSION
    # mw1.small: the smallest class AWS documents for Airflow 3 (see README, "Cost"); mw1.micro
    # is documented for Airflow 2 only, so the stack warns when it is asked for.
    mwaa_environment_class: str = "mw1.small"
    opensky_tier: str = "standard"  # the OpenSky account the minutely DAG paces its credits for
    alarm_email: str | None = None
    monthly_budget_usd: int | None = None  # None: the cost estimate of this stack plus a margin
    raw_expiry_days: int = 365
    bytes_scanned_cutoff: int = 10 * 1024**3
    log_retention_days: int = 30
    requirements_version: str | None = None
    startup_script_version: str | None = None
    plugins_version: str | None = None

    @classmethod
    def from_context(cls, node: Any) -> Settings:
        def ctx(name: str, default: Any) -> Any:
            value = node.try_get_context(name)
            return default if value in (None, "") else value

        env_name = str(ctx("env_name", cls.env_name))
        airflow_version = str(ctx("airflow_version", cls.airflow_version))
        if airflow_version not in SUPPORTED_AIRFLOW_VERSIONS:
            raise ValueError(
                f"airflow_version={airflow_version!r}: supported are {', '.join(SUPPORTED_AIRFLOW_VERSIONS)}"
            )
        return cls(
            env_name=env_name,
            prefix=str(ctx("prefix", f"flightdata-{env_name}")),
            airflow_version=airflow_version,
            mwaa_environment_class=str(ctx("mwaa_environment_class", cls.mwaa_environment_class)),
            opensky_tier=credits.tier(str(ctx("opensky_tier", cls.opensky_tier))).name,
            alarm_email=ctx("alarm_email", None),
            monthly_budget_usd=_optional_int(ctx("monthly_budget_usd", None)),
            raw_expiry_days=int(ctx("raw_expiry_days", cls.raw_expiry_days)),
            bytes_scanned_cutoff=int(ctx("bytes_scanned_cutoff", cls.bytes_scanned_cutoff)),
            log_retention_days=int(ctx("log_retention_days", cls.log_retention_days)),
            requirements_version=ctx("requirements_version", None),
            startup_script_version=ctx("startup_script_version", None),
            plugins_version=ctx("plugins_version", None),
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@jsii.implements(cdk.IStableNumberProducer)
class _EstimatedBudget:
    """The budget as ``flightdata cost`` estimates this stack, computed when the template is
    written, after every construct that has a price exists."""

    def __init__(self, stack: FlightDataStack) -> None:
        self.stack = stack

    def produce(self) -> int:
        shape = shape_of(self.stack)
        year = cost.estimate(shape, cost.load_workload(), cost.Prices.load(), month=cost.REPORT_MONTHS[-1])
        return cost.budget_usd(year)


class FlightDataStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, lambda_zip: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.names = names = Resources(settings.prefix)
        # cfn-lint 1.39 (pinned by the MWAA constraints) does not know Dashboard tags yet.
        untaggable = ["AWS::CloudWatch::Dashboard"]
        cdk.Tags.of(self).add("project", "flightdata", exclude_resource_types=untaggable)
        cdk.Tags.of(self).add("environment", settings.env_name, exclude_resource_types=untaggable)

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{self.names.prefix}",
            enable_key_rotation=True,
            description="flightdata: lake, queue, secret, logs, Athena results, MWAA",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],  # a key policy's resource is always the key itself
                conditions={
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{self.region}:{self.account}:*"}
                },
            )
        )
        self.storage = Storage(
            self,
            "Storage",
            names=names,
            key=self.key,
            raw_expiry_days=settings.raw_expiry_days,
        )
        self.functions = Functions(
            self,
            "Functions",
            names=names,
            key=self.key,
            lake=self.storage.lake,
            code=lambda_zip,
            log_retention_days=settings.log_retention_days,
        )
        self.analytics = Analytics(
            self, "Analytics", names=names, key=self.key, bytes_scanned_cutoff=settings.bytes_scanned_cutoff
        )
        self.airflow = Airflow(
            self,
            "Airflow",
            names=names,
            key=self.key,
            bundle_bucket=self.storage.mwaa_bucket,
            lake=self.storage.lake,
            athena_results=self.storage.athena_results,
            functions=list(self.functions.functions.values()),
            airflow_version=settings.airflow_version,
            environment_class=settings.mwaa_environment_class,
            opensky_tier=settings.opensky_tier,
            log_retention_days=settings.log_retention_days,
            requirements_version=settings.requirements_version,
            startup_script_version=settings.startup_script_version,
            plugins_version=settings.plugins_version,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            names=names,
            key=self.key,
            functions=self.functions.functions,
            dead_letters=self.functions.dead_letters,
            alarm_email=settings.alarm_email,
            monthly_budget_usd=settings.monthly_budget_usd or cdk.Lazy.number(_EstimatedBudget(self)),
        )
        if settings.mwaa_environment_class == "mw1.micro" and settings.airflow_version.startswith("3."):
            cdk.Annotations.of(self).add_warning_v2(
                "flightdata:micro-class",
                "mw1.micro is documented for Apache Airflow v2 environments only; MWAA may refuse it for "
                f"Airflow {settings.airflow_version}. mw1.small is the default.",
            )
        cdk.CfnOutput(self, "MwaaEnvironmentName", value=self.airflow.environment_name)
        cdk.CfnOutput(self, "MwaaBucketName", value=self.storage.mwaa_bucket.bucket_name)
