"""Where lake objects are written: S3 (AWS or the local endpoint) or a local directory.

Each put is atomic on its own (an S3 PUT, or a rename). How a snapshot's several objects
become visible together is ``flightdata.etl.commit``'s job.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class ObjectStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def uri(self, key: str) -> str: ...


@functools.cache
def default_s3_client() -> Any:
    """One S3 client per process, reused by warm Lambda invocations (creating one takes tens of ms)."""
    import boto3  # imported here so the library imports without AWS SDK start-up cost

    return boto3.client("s3")


class S3Store:
    """One bucket through boto3; the endpoint follows ``AWS_ENDPOINT_URL`` as boto3 does."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self.client = client or default_s3_client()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


class DirectoryStore:
    """A directory laid out like the bucket; writes are atomic renames."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def list(self, prefix: str) -> list[str]:
        directory, _, start = prefix.rpartition("/")
        folder = self.root / directory
        if not folder.is_dir():
            return []
        names = (p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".tmp-"))
        return sorted(f"{directory}/{name}" if directory else name for name in names if name.startswith(start))

    def uri(self, key: str) -> str:
        return str(self.root / key)
