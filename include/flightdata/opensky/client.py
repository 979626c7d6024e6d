"""OpenSky ``/states/all`` over requests: OAuth2 client credentials, bounded retries, credit budget.

Every call has a time budget. Retries (5xx, timeouts, connection errors, and 429s whose
``X-Rate-Limit-Retry-After-Seconds`` fits) happen only inside it, so a call always ends.
"""

from __future__ import annotations

import logging
import math
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

from flightdata.opensky.errors import (
    AuthenticationError,
    BadPayloadError,
    CreditBudgetExceeded,
    InvalidRequestError,
    RateLimitedError,
    SourceUnavailableError,
)

log = logging.getLogger(__name__)

LIVE_API_URL = "https://opensky-network.org/api"
LIVE_TOKEN_URL = "https://auth.opensky-network.org/auth/realms/opensky-network/protocol/openid-connect/token"  # noqa: S105 - a URL, not a secret
TOKEN_PATH = "/auth/realms/opensky-network/protocol/openid-connect/token"  # noqa: S105 - a URL path

TOKEN_REFRESH_MARGIN_S = 30.0
MIN_ATTEMPT_S = 0.5  # never start an attempt with less of the budget left
HISTORY_LIMIT_S = 3600
GLOBAL_CALL_COST = 4
# (max area in square degrees, credits) for bounding-box calls, smallest first.
BOX_COST_TIERS: tuple[tuple[float, int], ...] = ((25.0, 1), (100.0, 2), (400.0, 3))


@dataclass(frozen=True)
class Endpoints:
    api_url: str = LIVE_API_URL
    token_url: str = LIVE_TOKEN_URL

    @classmethod
    def at(cls, base_url: str) -> Endpoints:
        """Endpoints of a server that serves both the API and the token endpoint (the simulator)."""
        base = base_url.rstrip("/")
        return cls(api_url=f"{base}/api", token_url=f"{base}{TOKEN_PATH}")


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class BoundingBox:
    """A WGS-84 box: all four bounds or none at all."""

    lamin: float
    lomin: float
    lamax: float
    lomax: float

    def __post_init__(self) -> None:
        for name in ("lamin", "lamax"):
            self._check(name, -90.0, 90.0)
        for name in ("lomin", "lomax"):
            self._check(name, -180.0, 180.0)
        if self.lamin >= self.lamax:
            raise InvalidRequestError(f"bounding box lamin {self.lamin} must be below lamax {self.lamax}")
        if self.lomin >= self.lomax:
            raise InvalidRequestError(f"bounding box lomin {self.lomin} must be below lomax {self.lomax}")

    def _check(self, name: str, low: float, high: float) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise InvalidRequestError(f"bounding box {name} must be a number, got {value!r}")
        if not low <= value <= high:
            raise InvalidRequestError(f"bounding box {name}={value} is outside [{low}, {high}]")

    @classmethod
    def from_mapping(cls, bounds: dict[str, Any]) -> BoundingBox:
        keys = {"lamin", "lomin", "lamax", "lomax"}
        missing = keys - bounds.keys()
        if missing:
            raise InvalidRequestError(
                f"bounding box needs all of lamin, lomin, lamax, lomax; missing {', '.join(sorted(missing))}"
            )
        return cls(**{k: bounds[k] for k in keys})

    @property
    def area(self) -> float:
        """Square degrees, as OpenSky counts them for credits."""
        return (self.lamax - self.lamin) * (self.lomax - self.lomin)

    def params(self) -> dict[str, float]:
        return {"lamin": self.lamin, "lomin": self.lomin, "lamax": self.lamax, "lomax": self.lomax}


def credit_cost(box: BoundingBox | None) -> int:
    """Credits one ``/states/all`` call costs."""
    if box is None:
        return GLOBAL_CALL_COST
    for max_area, cost in BOX_COST_TIERS:
        if box.area <= max_area:
            return cost
    return GLOBAL_CALL_COST


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
    ) -> None:
        self.endpoints = endpoints or Endpoints()
        self.credit_reserve = credit_reserve
        self.credits_remaining = credits_remaining
        self.time_budget_s = time_budget_s
        self.request_timeout_s = request_timeout_s
        self.max_attempts = max_attempts
        self._session = session or requests.Session()
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
            raise exc.error from None
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
            return self._session.get(
                f"{self.endpoints.api_url}/states/all", params=params, headers=headers, timeout=timeout
            )
        except requests.Timeout:
            raise _Retryable(SourceUnavailableError(f"OpenSky did not answer within {timeout:.1f} s")) from None
        except requests.RequestException as exc:
            raise _Retryable(SourceUnavailableError(f"OpenSky unreachable: {type(exc).__name__}")) from None

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
        if status in (401, 403):
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


def check_states_document(document: Any) -> tuple[int, list[Any]]:
    """``(time, states)`` of a ``/states/all`` document; ``null`` states is an empty snapshot."""
    if not isinstance(document, dict):
        raise BadPayloadError(f"states document must be a JSON object, got {type(document).__name__}")
    api_time = document.get("time")
    if isinstance(api_time, bool) or not isinstance(api_time, int):
        raise BadPayloadError(f"states document has no integer 'time' (got {api_time!r})")
    states = document.get("states")
    if states is None:
        return api_time, []
    if not isinstance(states, list):
        raise BadPayloadError(f"'states' must be a list or null, got {type(states).__name__}")
    return api_time, states


def _float_header(response: requests.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
