"""The AWS clients tasks use, made from Airflow's ``aws_default`` connection by the Amazon
provider's hooks: on MWAA the connection has no endpoint and reaches AWS; locally its
``endpoint_url`` points at the local endpoint. DAG files call these; they build no hooks.

Types come from boto3-stubs (development only, read by mypy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from flightdata.resources import Resources

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_mwaa import MWAAClient
    from mypy_boto3_s3 import S3Client

AWS_CONN_ID = "aws_default"


def _client(service: str) -> Any:
    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type=service).get_conn()


def s3() -> S3Client:
    return _client("s3")


def glue() -> GlueClient:
    return _client("glue")


def cloudwatch() -> CloudWatchClient:
    return _client("cloudwatch")


def mwaa() -> MWAAClient:
    return _client("mwaa")


def athena() -> AthenaHook:
    """The provider's Athena hook (results, paging, query info), not a bare client."""
    return AthenaHook(aws_conn_id=AWS_CONN_ID)


def names() -> Resources:
    """The project's resource names, from the ``flightdata.prefix`` setting (read at run time)."""
    return Resources.from_env()


def put_metrics(metric_data: list[dict[str, Any]]) -> int:
    """Publish ``MetricData`` to the project's CloudWatch namespace; returns how many."""
    if metric_data:
        # The builders (minutely, compaction, daily_report) return plain dicts, not the stubs' TypedDict.
        cloudwatch().put_metric_data(Namespace=names().metrics_namespace, MetricData=metric_data)  # type: ignore[arg-type]
    return len(metric_data)
