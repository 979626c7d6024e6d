"""The buckets: the lake, Athena's results, the MWAA bundle, and their access logs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from flightdata import resources
from flightdata.resources import Resources
from flightdata_cdk import reference
from flightdata_cdk.lifecycle import (
    ATHENA_RESULTS_EXPIRY_DAYS,
    QUARANTINE_EXPIRY_DAYS,
    RAW_TO_GLACIER_DAYS,
    RAW_TO_IA_DAYS,
)


class Storage(Construct):
    """Every bucket is KMS-encrypted with ``key``, private, TLS-only and access-logged."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Resources,
        key: kms.IKey,
        raw_expiry_days: int,
    ):
        super().__init__(scope, construct_id)
        self.key = key
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=f"{names.prefix}-access-logs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write with KMS
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.mwaa_bucket = self._bucket(
            "MwaaBucket",
            f"{names.prefix}-mwaa",
            versioned=True,  # MWAA requires versioning and blocked public access
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(30))],
        )
        self.lake = self._bucket(
            "Lake",
            names.lake_bucket,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="raw-tiering",
                    prefix=f"{resources.RAW}/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=cdk.Duration.days(RAW_TO_IA_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=cdk.Duration.days(RAW_TO_GLACIER_DAYS),
                        ),
                    ],
                    expiration=cdk.Duration.days(raw_expiry_days),
                ),
                s3.LifecycleRule(
                    id="quarantine-expiry",
                    prefix=f"{resources.QUARANTINE}/",
                    expiration=cdk.Duration.days(QUARANTINE_EXPIRY_DAYS),
                ),
                s3.LifecycleRule(id="incomplete-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)),
            ],
        )
        self.athena_results = self._bucket(
            "AthenaResults",
            names.athena_results_bucket,
            lifecycle_rules=[
                s3.LifecycleRule(id="results-expiry", expiration=cdk.Duration.days(ATHENA_RESULTS_EXPIRY_DAYS)),
                s3.LifecycleRule(
                    id="old-ctas-output",
                    prefix="results/tables/",
                    expiration=cdk.Duration.days(ATHENA_RESULTS_EXPIRY_DAYS),
                ),
            ],
        )

        # The reference tables (flightdata_cdk.reference), the same files the local deploy puts.
        self.reference = s3deploy.BucketDeployment(
            self,
            "Reference",
            sources=[s3deploy.Source.asset(str(reference.write_all(reference.BUILD)))],
            destination_bucket=self.lake,
            destination_key_prefix=f"{resources.REFERENCE}/",
            prune=True,  # only its own prefix: each table holds its one file
            memory_limit=256,
        )

    def _bucket(self, construct_id: str, name: str, **kwargs: Any) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{name}/",
            removal_policy=cdk.RemovalPolicy.RETAIN,
            **kwargs,
        )
