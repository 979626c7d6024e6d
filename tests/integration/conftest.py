"""The local AWS endpoint, started on 127.0.0.1 for the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from localaws.server import RunningEndpoint, running

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def local_aws() -> Iterator[RunningEndpoint]:
    with running(region=REGION) as endpoint:
        yield endpoint


@pytest.fixture
def aws(local_aws, monkeypatch):
    """A boto3 client factory for the local endpoint, with fake credentials in the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    def client(service: str):
        return boto3.client(service, endpoint_url=local_aws.url, region_name=REGION)

    return client
