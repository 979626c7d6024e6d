"""The two Lambda functions, their dead-letter queue, the OpenSky secret, and what each may touch."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from flightdata import resources
from flightdata.resources import FUNCTIONS, Resources
from flightdata_cdk.logs import retention


class Functions(Construct):
    """Each function as ``flightdata.resources.FUNCTIONS`` describes it (handler, size,
    environment): the local deploy reads the same specs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Resources,
        key: kms.IKey,
        lake: s3.IBucket,
        code: Path,
        log_retention_days: int,
    ):
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=names.dead_letter_queue,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.secret = secretsmanager.Secret(
            self,
            "OpenSkySecret",
            secret_name=names.opensky_secret,
            description='OpenSky OAuth2 client credentials: {"client_id": ..., "client_secret": ...}',
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"client_id": "set-me"}',  # noqa: S106 - a placeholder id, not a secret
                generate_string_key="client_secret",
            ),
        )
        asset = lambda_.Code.from_asset(str(code))
        self.functions: dict[str, lambda_.Function] = {}
        for spec in FUNCTIONS:
            name = getattr(names, spec.name_attr)
            log_group = logs.LogGroup(
                self,
                f"{spec.name_attr}-logs",
                log_group_name=f"/aws/lambda/{name}",
                retention=retention(log_retention_days),
                encryption_key=key,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            function = lambda_.Function(
                self,
                spec.name_attr,
                function_name=name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=lambda_.Architecture.ARM_64,
                handler=spec.handler,
                code=asset,
                timeout=cdk.Duration.seconds(spec.timeout_s),
                memory_size=spec.memory_mb,
                reserved_concurrent_executions=spec.reserved_concurrency,
                dead_letter_queue=self.dead_letters,
                tracing=lambda_.Tracing.ACTIVE,
                environment=spec.environment(names),
                environment_encryption=key,
                log_group=log_group,
            )
            self.functions[spec.name_attr] = function
        ingestion, transform = self.functions["ingestion_function"], self.functions["transform_function"]
        self.secret.grant_read(ingestion)
        lake.grant_put(ingestion, f"{resources.RAW}/*")
        lake.grant_read(transform, f"{resources.RAW}/*")
        for prefix in (resources.PROCESSED, resources.QUARANTINE):
            lake.grant_put(transform, f"{prefix}/*")
            lake.grant_read(transform, f"{prefix}/*")  # lists a snapshot's attempts
            lake.grant_delete(transform, f"{prefix}/*")  # its own failed attempt, superseded ones, orphans
        lake.grant_put(transform, f"{resources.COMMITS}/*")
        lake.grant_read(transform, f"{resources.COMMITS}/*")  # the previous commit of the snapshot
