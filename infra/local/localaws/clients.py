"""boto3 clients for the local endpoint, signed with its key pair (``credentials.py``)."""

from __future__ import annotations

from typing import Any

import boto3

from localaws.credentials import KeyPair


def local_client(service: str, endpoint_url: str, region: str, key: KeyPair | None = None) -> Any:
    """A client for ``service``; without ``key``, boto3 finds credentials as usual (for example
    ``AWS_SHARED_CREDENTIALS_FILE`` pointing at the endpoint's credentials file)."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **(key.boto3_kwargs() if key else {}))
