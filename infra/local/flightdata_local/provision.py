"""Create, on the local endpoint, exactly the resources the AWS deployment creates.

Everything comes from ``flightdata.resources`` (names, function sizing) and
``flightdata.schema`` (tables), the description the CDK app reads too. Running it twice
changes nothing: existing resources are updated in place.
"""

from __future__ import annotations

import io
import logging
import platform
import time
import zipfile
from typing import Any

import orjson
import requests

from flightdata import catalog, resources
from flightdata.etl import flat_arrays
from flightdata.orchestration.named_queries import named_queries
from flightdata_cdk import reference
from flightdata_cdk.package import PACKAGE_SOURCE, lambda_sources
from localaws.clients import accepting, local_client
from localaws.credentials import KeyPair
from opensky_sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

log = logging.getLogger(__name__)

LAMBDA_ROLE = "arn:aws:iam::123456789012:role/flightdata-lambda"
RUNTIME = "python3.12"


def build_code_zip() -> bytes:
    """The functions' code: the flightdata modules the AWS Lambda zip carries, with the ETL's
    C reader as ``make setup`` built it for this machine (the dependencies come from this
    environment, as a layer would give them)."""
    library = flat_arrays.library_path(platform.machine())
    if not library.exists():
        raise FileNotFoundError(f"{library} is missing: make setup builds it")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in [*lambda_sources(), library]:
            info = zipfile.ZipInfo(f"flightdata/{path.relative_to(PACKAGE_SOURCE)}", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def wait_until_ready(endpoint_url: str, timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for the endpoint to answer (it may still be starting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            requests.get(endpoint_url, timeout=2)
            return
        except requests.RequestException:
            if time.monotonic() >= deadline:
                raise ConnectionError(f"no AWS endpoint answers at {endpoint_url}") from None
            time.sleep(0.5)


def provision(
    endpoint_url: str, names: resources.Resources, opensky_url: str | None, region: str, key: KeyPair | None = None
) -> dict[str, Any]:
    """``key`` signs the requests; without it boto3 finds credentials as usual
    (``AWS_SHARED_CREDENTIALS_FILE=<state-dir>/credentials``)."""

    def client(service: str) -> Any:
        return local_client(service, endpoint_url, region, key)

    s3, sqs, glue, lam = client("s3"), client("sqs"), client("glue"), client("lambda")
    for bucket in (names.lake_bucket, names.athena_results_bucket):
        with accepting("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    queue_url = sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    secrets = client("secretsmanager")
    secret = orjson.dumps({"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}).decode()
    with accepting("ResourceExistsException") as exists:
        secrets.create_secret(Name=names.opensky_secret, SecretString=secret)
    if exists.code:
        secrets.put_secret_value(SecretId=names.opensky_secret, SecretString=secret)

    with accepting("AlreadyExistsException"):
        glue.create_database(DatabaseInput={"Name": names.glue_database})
    for kind in names.tables:
        table = catalog.table_input(names, kind)
        with accepting("AlreadyExistsException") as exists:
            glue.create_table(DatabaseName=names.glue_database, TableInput=table)
        if exists.code:
            glue.update_table(DatabaseName=names.glue_database, TableInput=table)

    # The reference tables' files: the same bytes the CDK app deploys.
    for kind in reference.TABLES:
        s3.put_object(
            Bucket=names.lake_bucket,
            Key=reference.key(kind),
            Body=reference.parquet(kind),
            ContentType="application/vnd.apache.parquet",
        )

    athena = client("athena")
    with accepting("InvalidRequestException"):  # Athena's answer when the work group exists
        athena.create_work_group(
            Name=names.workgroup,
            Configuration={"ResultConfiguration": {"OutputLocation": names.athena_output_location}},
        )
    existing = {
        athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]["Name"]
        for page in athena.get_paginator("list_named_queries").paginate(WorkGroup=names.workgroup)
        for query_id in page["NamedQueryIds"]
    }
    for name, description, sql in named_queries(names):
        if f"flightdata {name}" not in existing:
            athena.create_named_query(
                Name=f"flightdata {name}",
                Description=description,
                Database=names.glue_database,
                QueryString=sql,
                WorkGroup=names.workgroup,
            )

    code = build_code_zip()
    for spec in resources.FUNCTIONS:
        name = getattr(names, spec.name_attr)
        settings = {
            "Runtime": RUNTIME,
            "Handler": spec.handler,
            "Role": LAMBDA_ROLE,
            "Timeout": spec.timeout_s,
            "MemorySize": spec.memory_mb,
            "Environment": {"Variables": spec.environment(names, opensky_url)},
            "DeadLetterConfig": {"TargetArn": queue_arn},
        }
        with accepting("ResourceNotFoundException") as missing:
            lam.get_function(FunctionName=name)
        if missing.code:
            lam.create_function(FunctionName=name, Code={"ZipFile": code}, Architectures=["arm64"], **settings)
        else:
            lam.update_function_code(FunctionName=name, ZipFile=code)
            lam.update_function_configuration(FunctionName=name, **settings)
    log.info("provisioned %s on %s", names.prefix, endpoint_url)
    return {
        "buckets": [names.lake_bucket, names.athena_results_bucket],
        "functions": [getattr(names, s.name_attr) for s in resources.FUNCTIONS],
        "queue": names.dead_letter_queue,
        "database": names.glue_database,
        "tables": list(names.tables.values()),
        "reference": [reference.key(kind) for kind in reference.TABLES],
        "workgroup": names.workgroup,
        "secret": names.opensky_secret,
    }
