"""How a local Athena call or query fails, in Athena's terms."""

from __future__ import annotations


class StatementFailed(Exception):
    """Ends a query in state FAILED; the message becomes its StateChangeReason."""


class AthenaApiError(Exception):
    """An API call refused before any query runs (``InvalidRequestException`` and the like)."""

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


def s3_split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise StatementFailed(f"location {uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
