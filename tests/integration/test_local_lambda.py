"""Lambda on the local endpoint, checked with plain boto3 and the Amazon provider's operator."""

from __future__ import annotations

import base64
import io
import json
import math
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

HANDLERS = """
import json, os, time

def ok(event, context):
    print("handling", json.dumps(event))
    return {"echo": event, "remaining_ms": context.get_remaining_time_in_millis(),
            "endpoint": os.environ.get("AWS_ENDPOINT_URL"), "greeting": os.environ.get("GREETING")}

def fail(event, context):
    raise ValueError("snapshot 2026-01-01T00:00Z is malformed")

def slow(event, context):
    time.sleep(5)
"""


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers.py", HANDLERS)
    return buffer.getvalue()


@pytest.fixture
def functions(aws):
    lam = aws("lambda")
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="contract-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    created = []
    for name, handler, timeout in [
        ("ok-fn", "handlers.ok", 10),
        ("fail-fn", "handlers.fail", 10),
        ("slow-fn", "handlers.slow", 1),
    ]:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/test",
            Handler=handler,
            Code={"ZipFile": package()},
            Timeout=timeout,
            Environment={"Variables": {"GREETING": "hello"}},
            DeadLetterConfig={"TargetArn": queue_arn},
        )
        created.append(name)
    yield lam, sqs, queue_url
    for name in created:
        lam.delete_function(FunctionName=name)
    sqs.delete_queue(QueueUrl=queue_url)


def test_invoke_runs_the_uploaded_handler_with_its_environment(functions, local_aws):
    lam, _, _ = functions

    response = lam.invoke(FunctionName="ok-fn", Payload=json.dumps({"minute": "00:01"}), LogType="Tail")

    result = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert result["echo"] == {"minute": "00:01"}
    assert result["greeting"] == "hello"
    assert result["endpoint"] == local_aws.url
    assert 0 < result["remaining_ms"] <= 10_000
    assert 'handling {"minute": "00:01"}' in base64.b64decode(response["LogResult"]).decode()


def test_the_log_ends_with_lambdas_report_line(functions):
    """Durations and memory, as Lambda reports them: ``flightdata-local measure`` prices them."""
    lam, _, _ = functions

    response = lam.invoke(FunctionName="ok-fn", Payload=b"{}", LogType="Tail")

    last = base64.b64decode(response["LogResult"]).decode().strip().splitlines()[-1]
    fields = dict(part.split(": ", 1) for part in last.split("\t"))
    assert fields["REPORT RequestId"]
    duration_ms = float(fields["Duration"].removesuffix(" ms"))
    assert int(fields["Billed Duration"].removesuffix(" ms")) == math.ceil(duration_ms)
    assert fields["Memory Size"] == "128 MB"  # CreateFunction's default
    assert 10 < int(fields["Max Memory Used"].removesuffix(" MB")) < 128
    assert float(fields["Init Duration"].removesuffix(" ms")) > 0


def test_a_handler_exception_is_a_function_error_with_lambdas_payload(functions):
    lam, _, _ = functions

    response = lam.invoke(FunctionName="fail-fn", Payload=b"{}", LogType="Tail")

    error = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "snapshot 2026-01-01T00:00Z is malformed"
    assert error["stackTrace"]
    assert len(base64.b64decode(response["LogResult"])) <= 4096


def test_the_timeout_is_enforced(functions):
    lam, _, _ = functions
    response = lam.invoke(FunctionName="slow-fn", Payload=b"{}")

    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"] == "Task timed out after 1.00 seconds"  # the configured limit, not the handler's 5 s


def test_an_unknown_function_is_resource_not_found(aws):
    with pytest.raises(ClientError) as error:
        aws("lambda").invoke(FunctionName="no-such-fn", Payload=b"{}")

    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_async_failures_are_retried_twice_then_dead_lettered(functions):
    lam, sqs, queue_url = functions

    response = lam.invoke(FunctionName="fail-fn", InvocationType="Event", Payload=b'{"n": 1}')
    assert response["StatusCode"] == 202

    deadline = time.monotonic() + 30
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
    assert messages, "the failed event never reached the dead-letter queue"
    assert json.loads(messages[0]["Body"]) == {"n": 1}
    assert "malformed" in messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_functions_are_listed_described_and_updated(functions):
    lam, _, _ = functions

    assert {"ok-fn", "fail-fn", "slow-fn"} <= {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    lam.update_function_configuration(FunctionName="ok-fn", Timeout=20)
    assert lam.get_function(FunctionName="ok-fn")["Configuration"]["Timeout"] == 20


def test_the_providers_operator_succeeds_and_fails_like_on_aws(functions, local_aws, monkeypatch):
    from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": local_aws.url, "region_name": "eu-west-1"}}),
    )
    ok = LambdaInvokeFunctionOperator(task_id="ok", function_name="ok-fn", payload='{"a": 1}')
    assert json.loads(ok.execute({}))["echo"] == {"a": 1}

    failing = LambdaInvokeFunctionOperator(task_id="failing", function_name="fail-fn", payload="{}")
    with pytest.raises(ValueError, match="Lambda function execution resulted in error"):
        failing.execute({})
