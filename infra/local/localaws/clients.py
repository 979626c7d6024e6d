"""boto3 clients for the local endpoint, which accepts any credentials."""

from __future__ import annotations

from typing import Any

import boto3

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def local_client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **LOCAL_CREDENTIALS)
