"""SigV4 verification for the local endpoint, with botocore's own signer.

Every request must be signed with the endpoint's key pair (``credentials.py``), as AWS
requires. The signature is recomputed from the request as it arrived: the raw path, the
query, the headers the client says it signed, and the payload hash. For S3 the payload
hash is the ``x-amz-content-sha256`` header, which must match the body unless the client
declared ``UNSIGNED-PAYLOAD`` or a ``STREAMING-*`` (chunked) upload: then the header
block is still verified, but the body's chunk signatures are not.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localaws.credentials import KeyPair

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)"
    r"/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_SKEW = timedelta(minutes=15)  # as AWS allows
_UNVERIFIED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-")


class AuthError(Exception):
    """A request that AWS would refuse before doing anything; ``code`` is AWS's error code."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who signed a request, and where it acts: the SigV4 credential scope."""

    access_key: str
    region: str
    service: str


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of AWS's partitions, as botocore's endpoint data lists them."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition_name=partition)
    )


def scope(environ: dict[str, Any], key: KeyPair, now: datetime | None = None) -> Caller:
    """Who signed the request and for which service and region, from its headers alone, so
    a request without the endpoint's key is refused before its body is read. The signature
    itself needs the body (:func:`verify`)."""
    match, _ = _check_header(environ, key, now)
    return Caller(match["key"], match["region"], match["service"])


def _check_header(environ: dict[str, Any], key: KeyPair, now: datetime | None) -> tuple[re.Match[str], str]:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise AuthError("MissingAuthenticationToken", "Request is missing Authentication Token")
    match = _AUTHORIZATION.match(header)
    if match is None:
        raise AuthError("IncompleteSignature", "Authorization header is not a well-formed AWS4-HMAC-SHA256 signature")
    if not hmac.compare_digest(match["key"], key.access_key):
        raise AuthError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    timestamp = environ.get("HTTP_X_AMZ_DATE", "")
    try:
        signed_at = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthError("IncompleteSignature", "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ") from None
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_SKEW or timestamp[:8] != match["date"]:
        raise AuthError(
            "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )
    if match["region"] not in known_regions():
        raise AuthError("SignatureDoesNotMatch", "Credential should be scoped to a valid region.")
    return match, timestamp


def verify(
    environ: dict[str, Any], body: bytes, key: KeyPair, now: datetime | None = None, service: str | None = None
) -> Caller:
    """The caller, once the signature over the request and its body checks out; ``service``,
    when the endpoint knows which service the request calls, must be the one signed for
    (AWS refuses a signature scoped to another service)."""
    match, timestamp = _check_header(environ, key, now)
    region = match["region"]
    if service is not None and match["service"] != service:
        raise AuthError("SignatureDoesNotMatch", f"Credential should be scoped to correct service: '{service}'.")
    service = match["service"]
    signed = match["headers"].split(";")
    headers = _signed_headers(environ, signed)
    if service == "s3":
        declared = headers.get("x-amz-content-sha256", "")
        if not declared.startswith(_UNVERIFIED_PAYLOADS) and declared != hashlib.sha256(body).hexdigest():
            raise AuthError(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
            )
    raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    path = raw_path.split("?", 1)[0]
    query = environ.get("QUERY_STRING", "")
    request = AWSRequest(
        method=environ["REQUEST_METHOD"],
        url=f"http://{headers.get('host', 'localhost')}{path}" + (f"?{query}" if query else ""),
        headers=headers,
        data=body,
    )
    request.context["timestamp"] = timestamp
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(Credentials(key.access_key, key.secret_key), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise AuthError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return Caller(match["key"], region, service)


def _signed_headers(environ: dict[str, Any], names: list[str]) -> dict[str, str]:
    """The headers the client signed, as they arrived; a signed header that is absent fails."""
    found: dict[str, str] = {}
    for name in names:
        if name == "content-type":
            value = environ.get("CONTENT_TYPE")
        elif name == "content-length":
            value = environ.get("CONTENT_LENGTH")
        else:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        if value is None:
            raise AuthError("SignatureDoesNotMatch", f"signed header {name!r} is not in the request")
        found[name] = value
    return found
