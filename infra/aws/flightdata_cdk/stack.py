"""Everything flightdata runs on in AWS, in one stack: encryption, the lake, the Lambdas, the Glue
catalog and Athena, MWAA in a private VPC, monitoring, and a budget.

Names come from ``flightdata.resources.Resources`` and tables from ``flightdata.catalog``: the
same description the local endpoint deploys, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import (
    aws_athena as athena,
)
from aws_cdk import (
    aws_budgets as budgets,
)
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
)
from aws_cdk import (
    aws_cloudwatch_actions as cw_actions,
)
from aws_cdk import (
    aws_ec2 as ec2,
)
from aws_cdk import (
    aws_glue as glue,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_mwaa as mwaa,
)
from aws_cdk import (
    aws_s3 as s3,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from aws_cdk import (
    aws_sns as sns,
)
from aws_cdk import (
    aws_sns_subscriptions as subscriptions,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from constructs import Construct

from flightdata import catalog, resources
from flightdata.orchestration.named_queries import named_queries
from flightdata.resources import FUNCTIONS, Resources

AIRFLOW_VERSION = "3.0.6"
MWAA_COMPONENTS = ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs")


@dataclass(frozen=True)
class Settings:
    """What differs between deployments, read from CDK context with these defaults."""

    env_name: str = "dev"
    prefix: str = ""
    mwaa_environment_class: str = "mw1.micro"
    alarm_email: str | None = None
    monthly_budget_usd: int = 100
    raw_expiry_days: int = 365
    bytes_scanned_cutoff: int = 10 * 1024**3
    log_retention_days: int = 30
    requirements_version: str | None = None
    startup_script_version: str | None = None

    @classmethod
    def from_context(cls, node: Any) -> Settings:
        def ctx(name: str, default: Any) -> Any:
            value = node.try_get_context(name)
            return default if value in (None, "") else value

        env_name = str(ctx("env_name", cls.env_name))
        return cls(
            env_name=env_name,
            prefix=str(ctx("prefix", f"flightdata-{env_name}")),
            mwaa_environment_class=str(ctx("mwaa_environment_class", cls.mwaa_environment_class)),
            alarm_email=ctx("alarm_email", None),
            monthly_budget_usd=int(ctx("monthly_budget_usd", cls.monthly_budget_usd)),
            raw_expiry_days=int(ctx("raw_expiry_days", cls.raw_expiry_days)),
            bytes_scanned_cutoff=int(ctx("bytes_scanned_cutoff", cls.bytes_scanned_cutoff)),
            log_retention_days=int(ctx("log_retention_days", cls.log_retention_days)),
            requirements_version=ctx("requirements_version", None),
            startup_script_version=ctx("startup_script_version", None),
        )


class FlightDataStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, lambda_zip: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.names = Resources(settings.prefix)
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
        self._storage()
        self._functions(lambda_zip)
        self._catalog()
        self._mwaa()
        self._monitoring()

    # --- S3 --------------------------------------------------------------------------------
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

    def _storage(self) -> None:
        names, settings = self.names, self.settings
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
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=cdk.Duration.days(30)
                        ),
                        s3.Transition(storage_class=s3.StorageClass.GLACIER, transition_after=cdk.Duration.days(90)),
                    ],
                    expiration=cdk.Duration.days(settings.raw_expiry_days),
                ),
                s3.LifecycleRule(
                    id="quarantine-expiry", prefix=f"{resources.QUARANTINE}/", expiration=cdk.Duration.days(180)
                ),
                s3.LifecycleRule(id="incomplete-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)),
            ],
        )
        self.athena_results = self._bucket(
            "AthenaResults",
            names.athena_results_bucket,
            lifecycle_rules=[
                s3.LifecycleRule(id="results-expiry", expiration=cdk.Duration.days(7)),
                s3.LifecycleRule(
                    id="old-ctas-output",
                    prefix="results/tables/",
                    expiration=cdk.Duration.days(7),
                ),
            ],
        )

    # --- Lambda ----------------------------------------------------------------------------
    def _functions(self, lambda_zip: Path) -> None:
        names, settings = self.names, self.settings
        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=names.dead_letter_queue,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.secret = secretsmanager.Secret(
            self,
            "OpenSkySecret",
            secret_name=names.opensky_secret,
            description='OpenSky OAuth2 client credentials: {"client_id": ..., "client_secret": ...}',
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"client_id": "set-me"}',  # noqa: S106 - a placeholder id, not a secret
                generate_string_key="client_secret",
            ),
        )
        code = lambda_.Code.from_asset(str(lambda_zip))
        self.functions: dict[str, lambda_.Function] = {}
        for spec in FUNCTIONS:
            name = getattr(names, spec.name_attr)
            log_group = logs.LogGroup(
                self,
                f"{spec.name_attr}-logs",
                log_group_name=f"/aws/lambda/{name}",
                retention=_retention(settings.log_retention_days),
                encryption_key=self.key,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            function = lambda_.Function(
                self,
                spec.name_attr,
                function_name=name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=lambda_.Architecture.ARM_64,
                handler=spec.handler,
                code=code,
                timeout=cdk.Duration.seconds(spec.timeout_s),
                memory_size=spec.memory_mb,
                reserved_concurrent_executions=spec.reserved_concurrency,
                dead_letter_queue=self.dlq,
                tracing=lambda_.Tracing.ACTIVE,
                environment=spec.environment(names),
                environment_encryption=self.key,
                log_group=log_group,
            )
            self.functions[spec.name_attr] = function
        ingestion, etl = self.functions["ingestion_function"], self.functions["etl_function"]
        self.secret.grant_read(ingestion)
        self.lake.grant_put(ingestion, f"{resources.RAW}/*")
        self.lake.grant_read(etl, f"{resources.RAW}/*")
        for prefix in (resources.PROCESSED, resources.QUARANTINE):
            self.lake.grant_put(etl, f"{prefix}/*")
            self.lake.grant_read(etl, f"{prefix}/*")  # lists a snapshot's attempts
            self.lake.grant_delete(etl, f"{prefix}/*")  # its own failed attempt, superseded ones, orphans
        self.lake.grant_put(etl, f"{resources.COMMITS}/*")
        self.lake.grant_read(etl, f"{resources.COMMITS}/*")  # the previous commit of the snapshot

    # --- Glue and Athena -------------------------------------------------------------------
    def _catalog(self) -> None:
        names = self.names
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=names.glue_database, description="flightdata: OpenSky state vectors"
            ),
        )
        for kind in names.tables:
            table = glue.CfnTable(
                self,
                f"Table-{kind}",
                catalog_id=self.account,
                database_name=names.glue_database,
                table_input=_cfn_table_input(catalog.table_input(names, kind)),
            )
            table.node.add_dependency(database)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=names.workgroup,
            description="flightdata reports and compaction",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=self.settings.bytes_scanned_cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=names.athena_output_location,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )
        for name, description, sql in named_queries(names):
            query = athena.CfnNamedQuery(
                self,
                f"Query-{name}",
                name=f"flightdata {name}",
                description=description,
                database=names.glue_database,
                work_group=names.workgroup,
                query_string=sql,
            )
            query.node.add_dependency(self.workgroup)

    # --- MWAA ------------------------------------------------------------------------------
    def _mwaa(self) -> None:
        names, settings = self.names, self.settings
        environment_name = f"{names.prefix}-airflow"
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        logs.LogGroup(
                            self,
                            "FlowLogs",
                            retention=_retention(settings.log_retention_days),
                            encryption_key=self.key,
                            removal_policy=cdk.RemovalPolicy.DESTROY,
                        )
                    )
                )
            },
        )
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        security_group = ec2.SecurityGroup(
            self, "MwaaSecurityGroup", vpc=self.vpc, description="MWAA components talk to each other only"
        )
        security_group.add_ingress_rule(security_group, ec2.Port.all_traffic(), "MWAA components")

        role = iam.Role(
            self,
            "MwaaExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"), iam.ServicePrincipal("airflow-env.amazonaws.com")
            ),
            description="flightdata MWAA execution role: only this project's resources",
        )
        environment_arn = f"arn:aws:airflow:{self.region}:{self.account}:environment/{environment_name}"
        lake_prefixes = [
            resources.PROCESSED,
            resources.QUARANTINE,
            resources.COMMITS,
            resources.CURATED,
            resources.REPORTS,
        ]
        statements = [
            iam.PolicyStatement(actions=["airflow:PublishMetrics"], resources=[environment_arn]),
            # airflow_db_retention runs `airflow db clean` through the environment's CLI endpoint.
            iam.PolicyStatement(actions=["airflow:CreateCliToken"], resources=[environment_arn]),
            iam.PolicyStatement(
                actions=["s3:GetObject*", "s3:GetBucket*", "s3:ListBucket*"],
                resources=[self.mwaa_bucket.bucket_arn, self.mwaa_bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(actions=["s3:GetAccountPublicAccessBlock"], resources=["*"]),
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=[f"arn:aws:logs:{self.region}:{self.account}:log-group:airflow-{environment_name}-*"],
            ),
            iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=["*"]),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource type; the namespace condition scopes it
                conditions={"StringEquals": {"cloudwatch:namespace": names.metrics_namespace}},
            ),
            iam.PolicyStatement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                resources=[f"arn:aws:sqs:{self.region}:*:airflow-celery-*"],  # MWAA's own Celery queues
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
                resources=[self.key.key_arn],
            ),
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f.function_arn for f in self.functions.values()],
            ),
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:CreateTable",
                    "glue:DeleteTable",
                ],
                resources=[
                    f"arn:aws:glue:{self.region}:{self.account}:catalog",
                    f"arn:aws:glue:{self.region}:{self.account}:database/{names.glue_database}",
                    f"arn:aws:glue:{self.region}:{self.account}:table/{names.glue_database}/*",
                ],
            ),
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[f"arn:aws:athena:{self.region}:{self.account}:workgroup/{names.workgroup}"],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.lake.arn_for_objects(f"{p}/*") for p in lake_prefixes]
                + [self.athena_results.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[self.lake.bucket_arn, self.athena_results.bucket_arn],
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        self.mwaa_role = role

        logging_configuration = mwaa.CfnEnvironment.LoggingConfigurationProperty(
            **{
                component: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(enabled=True, log_level="INFO")
                for component in MWAA_COMPONENTS
            }
        )
        self.airflow = mwaa.CfnEnvironment(
            self,
            "Airflow",
            name=environment_name,
            airflow_version=AIRFLOW_VERSION,
            environment_class=settings.mwaa_environment_class,
            min_workers=1,
            max_workers=2,
            execution_role_arn=role.role_arn,
            kms_key=self.key.key_arn,
            source_bucket_arn=self.mwaa_bucket.bucket_arn,
            dag_s3_path="dags",
            requirements_s3_path="requirements.txt",
            requirements_s3_object_version=settings.requirements_version,
            startup_script_s3_path="startup.sh",
            startup_script_s3_object_version=settings.startup_script_version,
            webserver_access_mode="PRIVATE_ONLY",
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[security_group.security_group_id],
                subnet_ids=[s.subnet_id for s in self.vpc.private_subnets],
            ),
            logging_configuration=logging_configuration,
            airflow_configuration_options={
                "flightdata.prefix": names.prefix,
                "flightdata.mwaa_environment": environment_name,
                "core.load_examples": "False",
                "core.dag_file_processor_timeout": "120",
            },
        )
        cdk.CfnOutput(self, "MwaaEnvironmentName", value=environment_name)
        cdk.CfnOutput(self, "MwaaBucketName", value=self.mwaa_bucket.bucket_name)

    # --- monitoring ------------------------------------------------------------------------
    def _monitoring(self) -> None:
        names, settings = self.names, self.settings
        topic = sns.Topic(self, "Alarms", topic_name=f"{names.prefix}-alarms", master_key=self.key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
            )
        )
        if settings.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        self.alarm_topic = topic
        region = {"Region": "global"}

        def metric(name: str, statistic: str, period: int = 1) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=names.metrics_namespace,
                metric_name=name,
                dimensions_map=region,
                statistic=statistic,
                period=cdk.Duration.minutes(period),
            )

        ingestion, etl = self.functions["ingestion_function"], self.functions["etl_function"]
        dlq_depth = self.dlq.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(1))
        alarms = [
            cloudwatch.Alarm(
                self,
                "QualityScoreLow",
                alarm_description="Data quality score under 95% for 5 minutes",
                metric=metric("QualityScore", "Average", 5),
                threshold=95,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "NoRecords",
                alarm_description="No state vectors processed for 5 minutes",
                metric=metric("Records", "Sum", 5),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "DeadLetters",
                alarm_description="Failed Lambda events are waiting in the dead-letter queue",
                metric=dlq_depth,
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            cloudwatch.Alarm(
                self,
                "HoursNotReconciled",
                alarm_description="The daily report found hours whose curated rows differ from their committed rows",
                metric=cloudwatch.Metric(
                    namespace=names.metrics_namespace,
                    metric_name="HoursNotReconciled",
                    statistic="Maximum",
                    period=cdk.Duration.days(1),
                ),
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for key, function in self.functions.items():
            alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{key}-errors",
                    alarm_description=f"{function.function_name} reported errors",
                    metric=function.metric_errors(period=cdk.Duration.minutes(5)),
                    threshold=0,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        for alarm in alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=names.prefix)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Records per minute", left=[metric("Records", "Sum")], width=8),
            cloudwatch.GraphWidget(title="Quality score (%)", left=[metric("QualityScore", "Average")], width=8),
            cloudwatch.GraphWidget(title="OpenSky credits left", left=[metric("CreditsRemaining", "Minimum")], width=8),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors", left=[ingestion.metric_errors(), etl.metric_errors()], width=8
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration (p95)",
                left=[ingestion.metric_duration(statistic="p95"), etl.metric_duration(statistic="p95")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Dead-letter queue depth", left=[dlq_depth], width=8),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Athena bytes scanned",
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/Athena",
                        metric_name="ProcessedBytes",
                        dimensions_map={"WorkGroup": names.workgroup},
                        statistic="Sum",
                        period=cdk.Duration.hours(1),
                    )
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=12),
        )

        budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{names.prefix}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=settings.monthly_budget_usd, unit="USD"),
                cost_filters={"TagKeyValue": ["user:project$flightdata"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=80,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)
                    ],
                )
                for kind in ("ACTUAL", "FORECASTED")
            ],
        )


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def _retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ValueError(f"log_retention_days must be one of {sorted(_RETENTION)}, got {days}")
    return _RETENTION[days]


def _cfn_table_input(table: dict[str, Any]) -> glue.CfnTable.TableInputProperty:
    """The Glue API's TableInput (PascalCase) as CloudFormation's property classes."""
    sd = table["StorageDescriptor"]
    return glue.CfnTable.TableInputProperty(
        name=table["Name"],
        description=table.get("Description"),
        table_type=table["TableType"],
        parameters=table["Parameters"],
        partition_keys=[glue.CfnTable.ColumnProperty(name=k["Name"], type=k["Type"]) for k in table["PartitionKeys"]],
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=[
                glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"], comment=c.get("Comment"))
                for c in sd["Columns"]
            ],
            location=sd["Location"],
            input_format=sd["InputFormat"],
            output_format=sd["OutputFormat"],
            serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=sd["SerdeInfo"]["SerializationLibrary"]),
        ),
    )
