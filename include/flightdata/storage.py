"""Where lake objects are written: S3 (AWS or the local endpoint) or a local directory.

A snapshot's objects are written together or not at all: if one write fails, the
objects already written for that snapshot are deleted again before the error surfaces.
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

    def uri(self, key: str) -> str:
        return str(self.root / key)


def put_all(store: ObjectStore, objects: list[tuple[str, bytes, str]]) -> list[str]:
    """Write ``(key, body, content type)`` objects; on any failure, delete those already written."""
    written: list[str] = []
    try:
        for key, body, content_type in objects:
            store.put(key, body, content_type)
            written.append(key)
    except BaseException:
        for key in reversed(written):
            try:
                store.delete(key)
            except Exception:
                log.exception("could not roll back %s after a failed snapshot write", store.uri(key))
        raise
    return written
