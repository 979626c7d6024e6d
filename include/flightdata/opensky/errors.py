"""Typed OpenSky errors. Messages carry what a person needs to act, never a secret or token."""

from __future__ import annotations


class OpenSkyError(Exception):
    """Base of every error the OpenSky client raises."""


class InvalidRequestError(OpenSkyError, ValueError):
    """The call's own arguments are wrong (bounding box, time); retrying cannot help."""


class AuthenticationError(OpenSkyError):
    """The token endpoint refused the client credentials, or the API refused the token twice."""


class RateLimitedError(OpenSkyError):
    """OpenSky answered 429 and the wait it asked for does not fit the call's time budget."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SourceUnavailableError(OpenSkyError):
    """5xx, timeouts or connection errors outlasted the retries within the time budget."""


# What to do when OpenSky cannot be reached from where the ingestion function runs.
_BLOCKED_ADVICE = (
    "OpenSky warns that it may block requests from AWS and other cloud providers' addresses, "
    "where the ingestion Lambda runs: route it through your own HTTPS proxy (key 'https_proxy' "
    "in the OpenSky secret, or OPENSKY_HTTPS_PROXY), or check the network and OpenSky's status"
)


class OpenSkyUnreachable(SourceUnavailableError):
    """No connection to OpenSky (refused, reset, not resolved) on any try within the budget."""

    def __init__(self, url: str, reason: str, attempts: int = 1) -> None:
        super().__init__(f"OpenSky at {url} is unreachable ({reason}) after {attempts} attempt(s). {_BLOCKED_ADVICE}")
        self.url = url
        self.reason = reason


class OpenSkyForbidden(OpenSkyError):
    """OpenSky answered 403 Forbidden: this address or account may not call the API."""

    def __init__(self, url: str, authenticated: bool) -> None:
        who = "these client credentials" if authenticated else "anonymous calls from this address"
        super().__init__(f"OpenSky at {url} answered 403 Forbidden to {who}. {_BLOCKED_ADVICE}")
        self.url = url


class BadPayloadError(OpenSkyError):
    """The response is not a states document: not JSON, truncated, or of the wrong shape."""


class ResponseTooLargeError(BadPayloadError):
    """OpenSky's answer is larger than the function can hold; it was not read to the end."""


class CreditBudgetExceeded(OpenSkyError):
    """The call would take the remaining API credits below the configured reserve.

    Not a failure of the source: callers turn it into a clean skip.
    """

    def __init__(self, cost: int, remaining: int, reserve: int) -> None:
        super().__init__(
            f"skipping the OpenSky call: it costs {cost} credits, {remaining} remain and {reserve} are held in reserve"
        )
        self.cost = cost
        self.remaining = remaining
        self.reserve = reserve
