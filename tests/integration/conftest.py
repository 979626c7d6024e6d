"""boto3 clients for the session's in-process local AWS endpoint (``local_aws``, tests/conftest.py)."""

from __future__ import annotations

import boto3
import pytest

REGION = "eu-west-1"


@pytest.fixture
def aws(local_aws, monkeypatch):
    """A boto3 client factory for the local endpoint. Credentials come from the endpoint's
    credentials file, as a user's AWS CLI or boto3 would take them."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(local_aws.credentials_file))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    def client(service: str, region: str = REGION):
        return boto3.client(service, endpoint_url=local_aws.url, region_name=region)

    return client
