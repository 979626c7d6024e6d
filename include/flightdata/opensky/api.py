"""The OpenSky ``/states/all`` API as data: its endpoints, bounding boxes and what they cost,
and the shape of its document. No HTTP here: the ETL, the Lambda events and the DAGs read
these without importing the client (``flightdata.opensky.client``) and requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flightdata.credits import call_cost
from flightdata.opensky.errors import BadPayloadError, InvalidRequestError

LIVE_API_URL = "https://opensky-network.org/api"
LIVE_TOKEN_URL = "https://auth.opensky-network.org/auth/realms/opensky-network/protocol/openid-connect/token"  # noqa: S105 - a URL, not a secret
TOKEN_PATH = "/auth/realms/opensky-network/protocol/openid-connect/token"  # noqa: S105 - a URL path

HISTORY_LIMIT_S = 3600


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
    """Credits one ``/states/all`` call costs (the tiers live in ``flightdata.credits``)."""
    return call_cost(None if box is None else box.area)


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
