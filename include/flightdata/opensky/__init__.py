"""Client for the OpenSky Network REST API (``GET /api/states/all``)."""

from flightdata.opensky.client import (
    BoundingBox,
    ClientCredentials,
    Endpoints,
    FetchResult,
    OpenSkyClient,
    credit_cost,
)
from flightdata.opensky.errors import (
    AuthenticationError,
    BadPayloadError,
    CreditBudgetExceeded,
    InvalidRequestError,
    OpenSkyError,
    RateLimitedError,
    SourceUnavailableError,
)

__all__ = [
    "AuthenticationError",
    "BadPayloadError",
    "BoundingBox",
    "ClientCredentials",
    "CreditBudgetExceeded",
    "Endpoints",
    "FetchResult",
    "InvalidRequestError",
    "OpenSkyClient",
    "OpenSkyError",
    "RateLimitedError",
    "SourceUnavailableError",
    "credit_cost",
]
