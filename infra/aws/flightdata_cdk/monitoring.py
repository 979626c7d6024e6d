"""Alarms (to one SNS topic), the CloudWatch dashboard and the monthly budget."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from flightdata import credits
from flightdata.resources import BLOCKED_MINUTES_TO_ALARM, MetricName, Resources


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Resources,
        key: kms.IKey,
        functions: dict[str, lambda_.Function],
        dead_letters: sqs.IQueue,
        alarm_email: str | None,
        monthly_budget_usd: int | float,  # a number, or a token (the stack's estimate)
    ):
        super().__init__(scope, construct_id)
        topic = sns.Topic(self, "Alarms", topic_name=f"{names.prefix}-alarms", master_key=key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
            )
        )
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarm_topic = topic

        def metric(name: str, statistic: str, period: int = 1) -> cloudwatch.Metric:
            """A metric over every region the DAG fetches (its series without a Region dimension)."""
            return cloudwatch.Metric(
                namespace=names.metrics_namespace,
                metric_name=name,
                statistic=statistic,
                period=cdk.Duration.minutes(period),
            )

        ingestion, transform = functions["ingestion_function"], functions["transform_function"]
        dlq_depth = dead_letters.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(1))
        alarms = [
            cloudwatch.Alarm(
                self,
                "QualityScoreLow",
                alarm_description="Data quality score under 95% for 5 minutes",
                metric=metric(MetricName.QUALITY_SCORE, "Average", 5),
                threshold=95,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "NoRecords",
                alarm_description="No state vectors processed for 5 minutes",
                metric=metric(MetricName.RECORDS, "Sum", 5),
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
                "CreditsRunningOut",
                alarm_description=(
                    "At this rate the OpenSky credits left at the next refill fall below the reserve: "
                    "check flightdata.opensky_tier and the regions (flightdata plan)"
                ),
                metric=metric(MetricName.PROJECTED_CREDITS_AT_REFILL, "Minimum", 5),
                threshold=credits.DEFAULT_RESERVE,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                MetricName.OPENSKY_BLOCKED,
                alarm_description=(
                    f"OpenSky refused the ingestion function or could not be reached for "
                    f"{BLOCKED_MINUTES_TO_ALARM} minutes in a row (it may block AWS addresses: set https_proxy "
                    "in the OpenSky secret)"
                ),
                metric=cloudwatch.Metric(
                    namespace=names.metrics_namespace,
                    metric_name=MetricName.OPENSKY_BLOCKED,
                    # Powertools' Metrics adds the function's service name as a dimension.
                    dimensions_map={"service": names.ingestion_function},
                    statistic="Sum",
                    period=cdk.Duration.minutes(1),
                ),
                threshold=1,
                evaluation_periods=BLOCKED_MINUTES_TO_ALARM,
                datapoints_to_alarm=BLOCKED_MINUTES_TO_ALARM,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                MetricName.DEADLINE_MISSED,
                alarm_description=(
                    "A DAG run had not finished within its freshness deadline (Airflow deadline alerts, "
                    "flightdata.orchestration.deadlines); the dag_id dimension names which"
                ),
                metric=metric(MetricName.DEADLINE_MISSED, "Sum", 5),
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                MetricName.HOURS_NOT_RECONCILED,
                alarm_description="The daily report found hours whose curated rows differ from their committed rows",
                metric=cloudwatch.Metric(
                    namespace=names.metrics_namespace,
                    metric_name=MetricName.HOURS_NOT_RECONCILED,
                    statistic="Maximum",
                    period=cdk.Duration.days(1),
                ),
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for spec_name, function in functions.items():
            alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{spec_name}-errors",
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

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=names.dashboard)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Records per minute", left=[metric(MetricName.RECORDS, "Sum")], width=8),
            cloudwatch.GraphWidget(
                title="Quality score (%)", left=[metric(MetricName.QUALITY_SCORE, "Average")], width=8
            ),
            cloudwatch.GraphWidget(
                title="OpenSky credits left", left=[metric(MetricName.CREDITS_LEFT, "Minimum")], width=8
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors", left=[ingestion.metric_errors(), transform.metric_errors()], width=8
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration (p95)",
                left=[ingestion.metric_duration(statistic="p95"), transform.metric_duration(statistic="p95")],
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
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_budget_usd, unit="USD"),
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
