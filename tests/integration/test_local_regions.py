"""Each request acts in the region it was signed for, as on AWS: Glue lookups by Athena,
Lambda functions and their environment, ARNs."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_local_athena import rows, run_query

REPORT_REGION = "import os\ndef handler(event, context):\n    return {'region': os.environ['AWS_REGION']}\n"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_ctas_then_select_cycle_works_from_any_region(aws, region):
    s3, athena = aws("s3", region), aws("athena", region)
    bucket = f"regional-{region}-{uuid.uuid4().hex[:6]}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    database = f"db_{region.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    aws("glue", region).create_database(DatabaseInput={"Name": database})
    output = f"s3://{bucket}/results/"

    created = run_query(
        athena,
        f"CREATE TABLE {database}.numbers WITH (format = 'PARQUET', external_location = 's3://{bucket}/numbers/') "
        "AS SELECT 1 AS n UNION ALL SELECT 2",
        database,
        output,
    )
    selected = run_query(athena, f"SELECT sum(n) AS total FROM {database}.numbers", database, output)

    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    assert selected["Status"]["State"] == "SUCCEEDED", selected["Status"]
    assert rows(athena, selected["QueryExecutionId"]) == [["total"], ["3"]]
    other = "eu-west-1" if region == "us-east-1" else "us-east-1"
    elsewhere = run_query(aws("athena", other), f"SELECT * FROM {database}.numbers", database, output)
    assert elsewhere["Status"]["State"] == "FAILED"
    assert "TABLE_NOT_FOUND" in elsewhere["Status"]["StateChangeReason"]


def test_a_function_lives_and_runs_in_its_own_region(aws):
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("where.py", REPORT_REGION)
    east = aws("lambda", "us-east-1")
    created = east.create_function(
        FunctionName="where-am-i",
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/x",
        Handler="where.handler",
        Code={"ZipFile": code.getvalue()},
    )

    assert created["FunctionArn"].startswith("arn:aws:lambda:us-east-1:")
    answer = json.loads(east.invoke(FunctionName="where-am-i")["Payload"].read())
    assert answer == {"region": "us-east-1"}
    with pytest.raises(ClientError) as error:
        aws("lambda", "eu-west-1").invoke(FunctionName="where-am-i")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    east.delete_function(FunctionName="where-am-i")
