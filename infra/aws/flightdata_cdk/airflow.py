"""MWAA: the Airflow environment (the version the ``airflow_version`` context value names) in a
private VPC, and an execution role that reaches only this project's resources."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from constructs import Construct

from flightdata import resources
from flightdata.resources import Resources
from flightdata_cdk.logs import retention

MWAA_COMPONENTS = ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs")


class Airflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Resources,
        key: kms.IKey,
        bundle_bucket: s3.IBucket,
        lake: s3.IBucket,
        athena_results: s3.IBucket,
        functions: list[lambda_.IFunction],
        airflow_version: str,
        environment_class: str,
        opensky_tier: str,
        log_retention_days: int,
        requirements_version: str | None,
        startup_script_version: str | None,
        plugins_version: str | None,
    ):
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
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
                            retention=retention(log_retention_days),
                            encryption_key=key,
                            removal_policy=cdk.RemovalPolicy.DESTROY,
                        )
                    )
                )
            },
        )
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=self.vpc, description="MWAA components talk to each other only"
        )
        security_group.add_ingress_rule(security_group, ec2.Port.all_traffic(), "MWAA components")

        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"), iam.ServicePrincipal("airflow-env.amazonaws.com")
            ),
            description="flightdata MWAA execution role: only this project's resources",
        )
        environment_arn = f"arn:aws:airflow:{stack.region}:{stack.account}:environment/{environment_name}"
        lake_prefixes = [
            resources.PROCESSED,
            resources.QUARANTINE,
            resources.COMMITS,
            resources.CURATED,
            resources.FLIGHTS,
            resources.REPORTS,
        ]
        statements = [
            iam.PolicyStatement(actions=["airflow:PublishMetrics"], resources=[environment_arn]),
            # airflow_db_retention runs `airflow db clean` through the environment's CLI endpoint.
            iam.PolicyStatement(actions=["airflow:CreateCliToken"], resources=[environment_arn]),
            iam.PolicyStatement(
                actions=["s3:GetObject*", "s3:GetBucket*", "s3:ListBucket*"],
                resources=[bundle_bucket.bucket_arn, bundle_bucket.arn_for_objects("*")],
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
                resources=[f"arn:aws:logs:{stack.region}:{stack.account}:log-group:airflow-{environment_name}-*"],
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
                resources=[f"arn:aws:sqs:{stack.region}:*:airflow-celery-*"],  # MWAA's own Celery queues
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
                resources=[key.key_arn],
            ),
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f.function_arn for f in functions],
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
                    f"arn:aws:glue:{stack.region}:{stack.account}:catalog",
                    f"arn:aws:glue:{stack.region}:{stack.account}:database/{names.glue_database}",
                    f"arn:aws:glue:{stack.region}:{stack.account}:table/{names.glue_database}/*",
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
                resources=[f"arn:aws:athena:{stack.region}:{stack.account}:workgroup/{names.workgroup}"],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[lake.arn_for_objects(f"{p}/*") for p in lake_prefixes]
                + [athena_results.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[lake.bucket_arn, athena_results.bucket_arn],
            ),
            # The flightdata plugin's pages: the map reads the newest raw snapshot (read only),
            # the overview the project's metrics (reads have no resource type in CloudWatch).
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[lake.arn_for_objects(f"{resources.RAW}/*")]),
            # Flights and the report join the reference tables (the stack deploys them).
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[lake.arn_for_objects(f"{resources.REFERENCE}/*")]),
            iam.PolicyStatement(actions=["cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"], resources=["*"]),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        self.role = role

        logging_configuration = mwaa.CfnEnvironment.LoggingConfigurationProperty(
            **{
                component: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(enabled=True, log_level="INFO")
                for component in MWAA_COMPONENTS
            }
        )
        self.environment = mwaa.CfnEnvironment(
            self,
            "Environment",
            name=environment_name,
            airflow_version=airflow_version,
            environment_class=environment_class,
            min_workers=1,
            max_workers=2,
            execution_role_arn=role.role_arn,
            kms_key=key.key_arn,
            source_bucket_arn=bundle_bucket.bucket_arn,
            dag_s3_path="dags",
            requirements_s3_path="requirements.txt",
            requirements_s3_object_version=requirements_version,
            startup_script_s3_path="startup.sh",
            startup_script_s3_object_version=startup_script_version,
            plugins_s3_path="plugins.zip",  # the flightdata pages and task links (make bundle)
            plugins_s3_object_version=plugins_version,
            webserver_access_mode="PRIVATE_ONLY",
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[security_group.security_group_id],
                subnet_ids=[s.subnet_id for s in self.vpc.private_subnets],
            ),
            logging_configuration=logging_configuration,
            airflow_configuration_options={
                "flightdata.prefix": names.prefix,
                "flightdata.mwaa_environment": environment_name,
                "flightdata.opensky_tier": opensky_tier,  # credits.TIER_ENV_VARS reads it
                "core.load_examples": "False",
                "core.dag_file_processor_timeout": "120",
            },
        )
        self.environment_name = environment_name
