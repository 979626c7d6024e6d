"""OpenSky ``/states/all`` over requests: OAuth2 client credentials, bounded retries, credit budget.

Every call has a time budget. Retries (5xx, timeouts, connection errors, and 429s whose
``X-Rate-Limit-Retry-After-Seconds`` fits) happen only inside it, so a call always ends.
The answer is read as a stream, under a cap on its size and the budget's deadline for the
whole body: a per-read timeout alone lets an answer that drips a byte at a time run on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from urllib3.exceptions import HTTPError as TransportError

from flightdata.opensky.api import (
    HISTORY_LIMIT_S,
    BoundingBox,
    Endpoints,
    check_states_document,
    credit_cost,
)
from flightdata.opensky.errors import (
    AuthenticationError,
    BadPayloadError,
    CreditBudgetExceeded,
    InvalidRequestError,
    OpenSkyForbidden,
    OpenSkyUnreachable,
    RateLimitedError,
    ResponseTooLargeError,
    SourceUnavailableError,
)

log = logging.getLogger(__name__)


TOKEN_REFRESH_MARGIN_S = 30.0
MIN_ATTEMPT_S = 0.5  # never start an attempt with less of the budget left
READ_CHUNK = 1 << 16
ERROR_BODY_LIMIT = 1 << 16  # what an error answer may say, read for its message
# A whole /states/all is a few MB; parsing it takes about ten times its size in objects.
# So a function may hold an answer of a sixteenth of its memory (32 MB at 512 MB).
MEMORY_TO_BODY = 16


def body_limit(environ: dict[str, str] | os._Environ[str] | None = None) -> int:
    """Bytes of an answer the client reads before it refuses the rest: a sixteenth of the
    Lambda function's memory (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``), 32 MB elsewhere."""
    env = os.environ if environ is None else environ
    memory_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 512)
    return memory_mb * (1 << 20) // MEMORY_TO_BODY


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class FetchResult:
    """One snapshot as OpenSky sent it, with what the call cost and learned."""

    body: bytes
    api_time: int
    record_count: int
    columns: int | None
    credits_spent: int
    credits_remaining: int | None
    attempts: int
    elapsed_s: float


class _Retryable(Exception):
    """Internal: a failure worth another attempt, carrying the error to raise if none is left."""

    def __init__(self, error: Exception, wait_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait_s = wait_s


class TokenCache:
    """OAuth2 client-credentials token, reused until shortly before it expires."""

    def __init__(
        self,
        session: requests.Session,
        token_url: str,
        credentials: ClientCredentials,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._credentials = credentials
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0

    def get(self, timeout_s: float) -> str:
        if self._token is None or self._clock() >= self._expires_at - TOKEN_REFRESH_MARGIN_S:
            self._fetch(timeout_s)
        assert self._token is not None
        return self._token

    def invalidate(self) -> None:
        self._token = None

    def _fetch(self, timeout_s: float) -> None:
        data = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        try:
            response = self._session.post(self._token_url, data=data, timeout=timeout_s)
        except requests.RequestException as exc:
            raise _Retryable(
                SourceUnavailableError(f"OpenSky token endpoint unreachable: {type(exc).__name__}")
            ) from None
        if response.status_code >= 500:
            raise _Retryable(SourceUnavailableError(f"OpenSky token endpoint answered {response.status_code}"))
        if response.status_code != 200:
            raise AuthenticationError(
                f"OpenSky token endpoint refused client {self._credentials.client_id!r} "
                f"(HTTP {response.status_code}); check the client id and secret"
            )
        try:
            payload = response.json()
            token = payload["access_token"]
            expires_in = float(payload.get("expires_in", 1800))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadPayloadError("OpenSky token endpoint sent no access_token") from exc
        self._token = token
        self._expires_at = self._clock() + expires_in
        log.info("obtained an OpenSky access token valid for %.0f s", expires_in)


class OpenSkyClient:
    """Fetches ``/states/all`` snapshots.

    :param credentials: OAuth2 client credentials; anonymous when None.
    :param credit_reserve: credits never to spend; a call that would cross it raises
        :class:`CreditBudgetExceeded`.
    :param credits_remaining: last known remaining credits, if the caller knows them
        (for example from an earlier invocation); updated from every response.
    :param time_budget_s: default wall-clock budget of one fetch, retries included.
    :param https_proxy: a proxy URL every OpenSky request (API and token) goes through, for
        where OpenSky refuses the caller's own address; never logged (it may carry a password).
    """

    def __init__(
        self,
        endpoints: Endpoints | None = None,
        credentials: ClientCredentials | None = None,
        *,
        credit_reserve: int = 0,
        credits_remaining: int | None = None,
        time_budget_s: float = 30.0,
        request_timeout_s: float = 20.0,
        max_attempts: int = 5,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        https_proxy: str | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        self.endpoints = endpoints or Endpoints()
        self.max_body_bytes = body_limit() if max_body_bytes is None else max_body_bytes
        self.credit_reserve = credit_reserve
        self.credits_remaining = credits_remaining
        self.time_budget_s = time_budget_s
        self.request_timeout_s = request_timeout_s
        self.max_attempts = max_attempts
        self._session = session or requests.Session()
        if https_proxy:
            self._session.proxies = {"https": https_proxy, "http": https_proxy}
            self._session.trust_env = False  # the proxy given wins over HTTPS_PROXY and NO_PROXY
        self._clock = clock
        self._sleep = sleep
        self._tokens = TokenCache(self._session, self.endpoints.token_url, credentials, clock) if credentials else None

    @property
    def authenticated(self) -> bool:
        return self._tokens is not None

    def check_budget(self, box: BoundingBox | None) -> int:
        """The cost of a call; raises :class:`CreditBudgetExceeded` if it would cross the reserve."""
        cost = credit_cost(box)
        if self.credits_remaining is not None and self.credits_remaining - cost < self.credit_reserve:
            raise CreditBudgetExceeded(cost, self.credits_remaining, self.credit_reserve)
        return cost

    def fetch_states(
        self,
        box: BoundingBox | None = None,
        *,
        extended: bool = False,
        at_time: int | None = None,
        time_budget_s: float | None = None,
    ) -> FetchResult:
        """One ``/states/all`` snapshot, retried within the time budget."""
        params: dict[str, Any] = box.params() if box else {}
        if extended:
            params["extended"] = 1
        if at_time is not None:
            self._check_history(at_time)
            params["time"] = int(at_time)
        cost = self.check_budget(box)

        start = self._clock()
        deadline = start + (self.time_budget_s if time_budget_s is None else time_budget_s)
        reauthenticated = False

        def attempt() -> requests.Response:
            nonlocal reauthenticated
            response = self._get(params, deadline)
            if response.status_code == 401 and self._tokens is not None and not reauthenticated:
                log.info("OpenSky refused the cached token; authenticating again once")
                reauthenticated = True
                self._tokens.invalidate()
                response = self._get(params, deadline)
            return self._check_response(response, deadline)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            retry=retry_if_exception(lambda exc: self._worth_retry(exc, deadline)),
            wait=lambda state: self._wait(state, deadline),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _Retryable as exc:
            error = exc.error
            if isinstance(error, OpenSkyUnreachable):  # say how often it was tried
                attempts = retrying.statistics.get("attempt_number", 1)
                error = OpenSkyUnreachable(error.url, error.reason, attempts)
            raise error from None
        attempts = retrying.statistics.get("attempt_number", 1)
        result = self._parse(response, cost, attempts, self._clock() - start)
        log.info(
            "fetched %d state vectors (time=%d) in %d attempt(s); %s credits remaining",
            result.record_count,
            result.api_time,
            attempts,
            "unknown" if result.credits_remaining is None else result.credits_remaining,
        )
        return result

    def _check_history(self, at_time: int) -> None:
        if not self.authenticated:
            raise InvalidRequestError("the 'time' parameter needs OpenSky client credentials")
        age = time.time() - at_time
        if age > HISTORY_LIMIT_S:
            raise InvalidRequestError(f"time={at_time} is {age:.0f} s back; OpenSky serves at most one hour")
        if age < -60:
            raise InvalidRequestError(f"time={at_time} is in the future")

    def _get(self, params: dict[str, Any], deadline: float) -> requests.Response:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise SourceUnavailableError("OpenSky call ran out of its time budget")
        timeout = min(self.request_timeout_s, remaining)
        headers = {"Accept": "application/json"}
        if self._tokens is not None:
            headers["Authorization"] = f"Bearer {self._tokens.get(timeout)}"
        try:
            response = self._session.get(
                f"{self.endpoints.api_url}/states/all", params=params, headers=headers, timeout=timeout, stream=True
            )
        except requests.Timeout:
            raise _Retryable(SourceUnavailableError(f"OpenSky did not answer within {timeout:.1f} s")) from None
        except requests.ConnectionError as exc:  # refused, reset, not resolved, proxy down
            raise _Retryable(OpenSkyUnreachable(self.endpoints.api_url, _connection_reason(exc))) from None
        except requests.RequestException as exc:
            raise _Retryable(SourceUnavailableError(f"OpenSky request failed: {type(exc).__name__}")) from None
        limit = self.max_body_bytes if response.status_code == 200 else ERROR_BODY_LIMIT
        try:
            # what .content and .text then return, as if requests had read it
            response._content = self._read_body(response, deadline, limit)
        finally:
            response.close()
        return response

    def _read_body(self, response: requests.Response, deadline: float, limit: int) -> bytes:
        """The body, read as it arrives: at most ``limit`` bytes (an error answer's message is
        cut there; a states answer past it is refused), and all of it by ``deadline``."""
        declared = response.headers.get("Content-Length", "")
        states = response.status_code == 200
        if states and declared.isdigit() and int(declared) > limit:
            raise ResponseTooLargeError(_too_large(limit, f"it announced {int(declared):,} bytes"))
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        body = bytearray()
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise _Retryable(_late(body))
            if sock is not None:
                sock.settimeout(min(self.request_timeout_s, left))  # no read outlasts the deadline
            try:
                chunk = response.raw.read1(READ_CHUNK)
            except (TransportError, OSError) as exc:  # a read timeout, a reset, a broken chunk
                if deadline - self._clock() <= 0.01:
                    raise _Retryable(_late(body)) from None
                reason = f"OpenSky's answer broke off after {len(body):,} bytes ({type(exc).__name__})"
                raise _Retryable(SourceUnavailableError(reason)) from None
            if not chunk:
                return bytes(body)
            if len(body) + len(chunk) > limit:
                if states:
                    raise ResponseTooLargeError(_too_large(limit, "it went on past that"))
                return bytes(body + chunk[: limit - len(body)])
            body += chunk

    def _check_response(self, response: requests.Response, deadline: float) -> requests.Response:
        self._note_credits(response)
        status = response.status_code
        if status == 200:
            body = response.content.strip()
            if body.startswith(b"{") and not body.endswith(b"}"):
                # A states document ends with '}': this one was cut short on the way, which
                # another try can mend (a document that is whole but wrong is not retried).
                raise _Retryable(BadPayloadError(f"OpenSky's answer ended early, after {len(response.content)} bytes"))
            return response
        if status == 429:
            retry_after = _float_header(response, "X-Rate-Limit-Retry-After-Seconds")
            error = RateLimitedError(
                "OpenSky rate limit reached"
                + (f"; it asks to wait {retry_after:.0f} s" if retry_after is not None else ""),
                retry_after,
            )
            raise _Retryable(error, wait_s=retry_after)
        if status == 403:
            raise OpenSkyForbidden(self.endpoints.api_url, self.authenticated)
        if status == 401:
            raise AuthenticationError(
                f"OpenSky refused the request (HTTP {status})"
                + ("" if self.authenticated else "; anonymous access may not cover this call")
            )
        if status >= 500:
            raise _Retryable(SourceUnavailableError(f"OpenSky answered HTTP {status}"))
        raise InvalidRequestError(f"OpenSky rejected the request (HTTP {status}): {response.text[:200]}")

    def _note_credits(self, response: requests.Response) -> None:
        remaining = _float_header(response, "X-Rate-Limit-Remaining")
        if remaining is not None:
            self.credits_remaining = int(remaining)

    def _worth_retry(self, exc: BaseException, deadline: float) -> bool:
        if not isinstance(exc, _Retryable):
            return False
        left = deadline - self._clock()
        if isinstance(exc.error, RateLimitedError):
            # Only wait for OpenSky when the wait it asked for fits the budget.
            return exc.wait_s is not None and exc.wait_s < left
        return left > MIN_ATTEMPT_S

    def _wait(self, state: RetryCallState, deadline: float) -> float:
        """OpenSky's Retry-After, else exponential backoff with jitter, cut so that the next
        attempt still has time to run: a budget never ends in a wait, so the error a caller
        sees is the source's own."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.wait_s is not None:
            return exc.wait_s
        backoff = wait_random_exponential(multiplier=0.5, max=8)(state)
        return max(0.0, min(backoff, deadline - self._clock() - MIN_ATTEMPT_S))

    def _parse(self, response: requests.Response, cost: int, attempts: int, elapsed: float) -> FetchResult:
        body = response.content
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadPayloadError(
                f"OpenSky sent {len(body)} bytes that are not JSON ({exc.msg} at {exc.pos})"
            ) from None
        api_time, states = check_states_document(document)
        columns = len(states[0]) if states and isinstance(states[0], list) else None
        return FetchResult(
            body=body,
            api_time=api_time,
            record_count=len(states),
            columns=columns,
            credits_spent=cost,
            credits_remaining=self.credits_remaining,
            attempts=attempts,
            elapsed_s=elapsed,
        )


def _late(body: bytearray) -> SourceUnavailableError:
    return SourceUnavailableError(
        f"OpenSky's answer did not arrive whole within the time budget ({len(body):,} bytes came)"
    )


def _too_large(limit: int, what: str) -> str:
    return (
        f"OpenSky's answer is larger than the {limit:,} bytes this function reads ({what}); "
        "nothing was kept. Raise the function's memory if real answers are this large"
    )


def _connection_reason(exc: requests.ConnectionError) -> str:
    """A short cause without URLs or credentials (a proxy URL may carry a password)."""
    text = str(exc)
    for cause in ("Connection refused", "Connection reset", "Name or service not known", "Remote end closed"):
        if cause in text:
            return cause.lower()
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed"
    return type(exc).__name__


def _float_header(response: requests.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
