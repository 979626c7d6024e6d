"""cdk-nag's AwsSolutions checks, with every suppression and its reason in one place."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions

from flightdata_cdk.stack import FlightDataStack


def check(app: cdk.App, stack: FlightDataStack) -> None:
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    for path, rules in SUPPRESSIONS.items():
        node = stack
        for part in path.split("/"):
            node = node.node.try_find_child(part)
            if node is None:
                raise LookupError(f"cdk-nag suppression for {path!r}: no such construct in {stack.stack_name}")
        NagSuppressions.add_resource_suppressions(
            node,
            [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to) for rule, reason, applies_to in rules],
            apply_to_children=True,
        )


# construct path under the stack → [(rule, reason, applies_to or None)]
SUPPRESSIONS: dict[str, list[tuple[str, str, list[str] | None]]] = {
    "Functions/OpenSkySecret": [
        (
            "AwsSolutions-SMG4",
            "OpenSky issues the client credentials; they are rotated in OpenSky's portal, "
            "then written here by hand, so there is no rotation Lambda to run.",
            None,
        ),
    ],
    "Functions/ingestion_function": [
        (
            "AwsSolutions-IAM4",
            "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
            ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        ),
        (
            "AwsSolutions-IAM5",
            "Writes only under the lake's raw/ prefix (object keys carry the partition); "
            "X-Ray trace calls have no resource type.",
            None,
        ),
        ("AwsSolutions-L1", "Python 3.12 on purpose: the same interpreter MWAA runs Airflow 3.3.1 and 3.0.6 on.", None),
    ],
    "Functions/transform_function": [
        (
            "AwsSolutions-IAM4",
            "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
            ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        ),
        (
            "AwsSolutions-IAM5",
            "Reads raw/ and writes processed/ and quarantine/ only (object keys carry the "
            "partition); X-Ray trace calls have no resource type.",
            None,
        ),
        ("AwsSolutions-L1", "Python 3.12 on purpose: the same interpreter MWAA runs Airflow 3.3.1 and 3.0.6 on.", None),
    ],
    # The CDK's own BucketDeployment handler, which copies the airports reference file into
    # the lake at deploy time; its code and policy are the CDK's.
    "Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB": [
        (
            "AwsSolutions-IAM4",
            "AWSLambdaBasicExecutionRole only lets the CDK's deployment handler write its own logs.",
            ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        ),
        (
            "AwsSolutions-IAM5",
            "The CDK grants its deployment handler read on the CDK asset bucket and write on the lake "
            "(with the key) to copy the reference tables under reference/; the CDK builds this policy.",
            None,
        ),
        ("AwsSolutions-L1", "The runtime is the one the CDK version pins for its deployment handler.", None),
    ],
    "Airflow/ExecutionRole": [
        (
            "AwsSolutions-IAM5",
            "Wildcards are scoped as narrowly as AWS allows: objects under the lake's "
            "processed/, quarantine/, curated/, flights/ and reports/ prefixes, this database's tables, this "
            "environment's log groups, MWAA's own airflow-celery-* queues, reading raw/ for the plugin's map and "
            "reference/ (airports, runways) for flights and the report; PutMetricData, "
            "GetMetricStatistics, ListMetrics and DescribeLogGroups have no resource type (PutMetricData is "
            "held to the project's namespace by a condition).",
            None,
        ),
    ],
}
