"""boto3 clients for the local endpoint, signed with its key pair (``credentials.py``), and the
one way this package tells an expected AWS error from a real one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from localaws.credentials import KeyPair


def local_client(service: str, endpoint_url: str, region: str, key: KeyPair | None = None) -> Any:
    """A client for ``service``; without ``key``, boto3 finds credentials as usual (for example
    ``AWS_SHARED_CREDENTIALS_FILE`` pointing at the endpoint's credentials file)."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **(key.boto3_kwargs() if key else {}))


@dataclass
class Accepted:
    """What :func:`accepting` let pass: the error code, or None when the call succeeded."""

    code: str | None = None


@contextlib.contextmanager
def accepting(*codes: str) -> Iterator[Accepted]:
    """Run an AWS call that may fail only in an expected way, such as "create, or accept that
    it exists" (``AlreadyExistsException``) or "delete, or accept that it is gone". Any other
    error is raised; ``.code`` of the yielded object says which expected one happened."""
    outcome = Accepted()
    try:
        yield outcome
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in codes:
            raise
        outcome.code = code
