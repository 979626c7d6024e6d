"""A developer's lake, catalog, functions and query history survive a restart of the endpoint."""

from __future__ import annotations

import io
import zipfile

import pytest

from localaws.server import running

pytestmark = pytest.mark.integration


def clients(endpoint):
    return endpoint.client


def test_state_survives_a_restart(tmp_path):
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("fn.py", "def handler(event, context):\n    return {'ok': True}\n")

    with running(state_dir=tmp_path) as first:
        aws = clients(first)
        aws("s3").create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        aws("s3").put_object(Bucket="lake", Key="processed/a.parquet", Body=b"first")
        aws("s3").put_object(Bucket="lake", Key="processed/a.parquet", Body=b"second")
        aws("s3").put_object(Bucket="lake", Key="processed/gone.parquet", Body=b"x")
        aws("s3").delete_object(Bucket="lake", Key="processed/gone.parquet")
        aws("glue").create_database(DatabaseInput={"Name": "flights"})
        aws("lambda").create_function(
            FunctionName="fn",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/r",
            Handler="fn.handler",
            Code={"ZipFile": code.getvalue()},
        )
        query_id = aws("athena").start_query_execution(
            QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "s3://lake/results/"}
        )["QueryExecutionId"]

    with running(state_dir=tmp_path) as second:
        aws = clients(second)
        keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket="lake")["Contents"] if "results/" not in o["Key"]]
        assert keys == ["processed/a.parquet"]
        assert aws("s3").get_object(Bucket="lake", Key="processed/a.parquet")["Body"].read() == b"second"
        assert aws("glue").get_database(Name="flights")["Database"]["Name"] == "flights"
        assert aws("lambda").invoke(FunctionName="fn")["Payload"].read() == b'{"ok": true}'
        assert aws("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Query"] == "SELECT 1"
