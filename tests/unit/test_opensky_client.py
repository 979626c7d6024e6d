"""The OpenSky client against the local simulator: auth, retries, rate limits, credits, payloads."""

from __future__ import annotations

import logging
import time

import orjson
import pytest

from flightdata.opensky.api import BoundingBox, Endpoints, credit_cost
from flightdata.opensky.client import ClientCredentials, OpenSkyClient
from flightdata.opensky.errors import (
    AuthenticationError,
    BadPayloadError,
    CreditBudgetExceeded,
    InvalidRequestError,
    RateLimitedError,
    SourceUnavailableError,
)
from opensky_sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

CREDENTIALS = ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
EUROPE = BoundingBox(lamin=45.0, lomin=5.0, lamax=50.0, lomax=10.0)  # 25 square degrees


class Sleeps:
    """Records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(sim, credentials=CREDENTIALS, **options) -> OpenSkyClient:
    options.setdefault("sleep", Sleeps())
    return OpenSkyClient(Endpoints.at(sim.url), credentials, **options)


def test_anonymous_fetch_reports_records_and_credits(opensky_sim):
    result = client_for(opensky_sim, credentials=None).fetch_states()

    assert result.record_count == len(orjson.loads(result.body)["states"]) > 5_000
    assert result.columns == 17
    assert result.credits_spent == 4
    assert result.credits_remaining == 400 - 4


def test_authenticated_fetch_reuses_its_token(opensky_sim):
    client = client_for(opensky_sim)
    client.fetch_states(EUROPE)
    client.fetch_states(EUROPE)

    assert len(opensky_sim.simulator.tokens) == 1
    assert client.credits_remaining == 4000 - 2


def test_token_is_refreshed_30_seconds_before_expiry(opensky_sim):
    now = [1000.0]
    client = client_for(opensky_sim, clock=lambda: now[0])
    client.fetch_states(EUROPE)
    now[0] += 1800 - 31
    client.fetch_states(EUROPE)
    assert len(opensky_sim.simulator.tokens) == 1

    now[0] += 2  # now inside the 30 s margin
    client.fetch_states(EUROPE)
    assert len(opensky_sim.simulator.tokens) == 2


def test_a_401_reauthenticates_once_and_succeeds(opensky_sim):
    client = client_for(opensky_sim)
    client.fetch_states(EUROPE)
    opensky_sim.simulator.add_fault("401")

    # Global, not EUROPE: a 25-square-degree box is empty at some seconds of the simulated day.
    assert client.fetch_states().record_count > 0
    assert len(opensky_sim.simulator.tokens) == 2


def test_a_second_401_is_an_authentication_error(opensky_sim):
    opensky_sim.simulator.add_fault("401", count=2)

    with pytest.raises(AuthenticationError, match="HTTP 401"):
        client_for(opensky_sim).fetch_states(EUROPE)


def test_wrong_credentials_never_leak_the_secret(opensky_sim, caplog):
    caplog.set_level(logging.DEBUG)
    bad = ClientCredentials(DEMO_CLIENT_ID, "super-secret-value")

    with pytest.raises(AuthenticationError) as error:
        client_for(opensky_sim, credentials=bad).fetch_states()

    assert "super-secret-value" not in str(error.value)
    assert "super-secret-value" not in repr(bad)
    assert "super-secret-value" not in caplog.text


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_are_retried_with_backoff(opensky_sim, status):
    opensky_sim.simulator.add_fault(status, count=2)
    sleeps = Sleeps()

    result = client_for(opensky_sim, sleep=sleeps).fetch_states(EUROPE)

    assert result.attempts == 3
    assert len(sleeps.waits) == 2
    assert all(0 <= w <= 8 for w in sleeps.waits)


def test_persistent_outage_gives_up_after_bounded_attempts(opensky_sim):
    opensky_sim.simulator.add_fault("503", count=100)

    with pytest.raises(SourceUnavailableError, match="HTTP 503"):
        client_for(opensky_sim, max_attempts=4).fetch_states(EUROPE)
    assert opensky_sim.simulator.stats()["faults"] == 1  # 100 - 4 still queued


def test_slow_response_times_out_and_is_retried(opensky_sim):
    opensky_sim.simulator.add_fault("slow", delay_s=1.5)

    result = client_for(opensky_sim, request_timeout_s=0.5).fetch_states(EUROPE)

    assert result.attempts == 2


def test_429_waits_when_the_retry_after_fits_the_budget(opensky_sim):
    opensky_sim.simulator.add_fault("429", retry_after_s=3)
    sleeps = Sleeps()

    result = client_for(opensky_sim, sleep=sleeps).fetch_states(EUROPE, time_budget_s=10)

    assert result.attempts == 2
    assert sleeps.waits == [3.0]


def test_429_gives_up_when_the_retry_after_exceeds_the_budget(opensky_sim):
    opensky_sim.simulator.add_fault("429", retry_after_s=600)
    sleeps = Sleeps()

    with pytest.raises(RateLimitedError, match="wait 600 s") as error:
        client_for(opensky_sim, sleep=sleeps).fetch_states(EUROPE, time_budget_s=10)

    assert error.value.retry_after_s == 600
    assert sleeps.waits == []


def test_exhausted_daily_credits_are_a_rate_limit(opensky_sim):
    opensky_sim.simulator.set_credits("anonymous", 3)

    with pytest.raises(RateLimitedError):
        client_for(opensky_sim, credentials=None).fetch_states()


def test_a_body_that_is_not_json_is_a_bad_payload(opensky_sim):
    opensky_sim.simulator.add_fault("not_json")

    with pytest.raises(BadPayloadError, match="not JSON"):
        client_for(opensky_sim).fetch_states(EUROPE)


def test_a_body_cut_short_is_fetched_again(opensky_sim):
    """A document that starts like one and stops early was cut on the way: worth a retry."""
    opensky_sim.simulator.add_fault("truncated")

    fetched = client_for(opensky_sim).fetch_states()  # global: never empty

    assert fetched.attempts == 2
    assert fetched.record_count > 0


def test_bodies_cut_short_until_the_budget_ends_are_a_bad_payload(opensky_sim):
    opensky_sim.simulator.add_fault("truncated", count=50)

    with pytest.raises(BadPayloadError, match="ended early"):
        client_for(opensky_sim).fetch_states(EUROPE, time_budget_s=3)


def test_extended_adds_the_category_column(opensky_sim):
    assert client_for(opensky_sim).fetch_states(extended=True).columns == 18


def test_history_needs_credentials_and_at_most_an_hour(opensky_sim):
    with pytest.raises(InvalidRequestError, match="credentials"):
        client_for(opensky_sim, credentials=None).fetch_states(at_time=int(time.time()) - 60)
    with pytest.raises(InvalidRequestError, match="at most one hour"):
        client_for(opensky_sim).fetch_states(at_time=int(time.time()) - 7200)

    at = int(time.time()) - 600
    assert client_for(opensky_sim).fetch_states(EUROPE, at_time=at).api_time == at


def test_credit_reserve_refuses_a_call_that_would_cross_it(opensky_sim):
    client = client_for(opensky_sim, credit_reserve=10, credits_remaining=13)
    served_before = opensky_sim.simulator.stats()["requests"]

    with pytest.raises(CreditBudgetExceeded, match="costs 4 credits, 13 remain and 10 are held"):
        client.fetch_states()
    assert opensky_sim.simulator.stats()["requests"] == served_before  # refused before any request
    assert client.fetch_states(EUROPE).credits_spent == 1  # a small box still fits


@pytest.mark.parametrize(
    ("box", "cost"),
    [
        (None, 4),
        (BoundingBox(0, 0, 5, 5), 1),
        (BoundingBox(0, 0, 10, 10), 2),
        (BoundingBox(0, 0, 20, 20), 3),
        (BoundingBox(0, 0, 20, 20.5), 4),
    ],
)
def test_credit_cost_follows_the_area_tiers(box, cost):
    assert credit_cost(box) == cost


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"lamin": 0, "lomin": 0, "lamax": 5}, "missing lomax"),
        ({"lamin": 95, "lomin": 0, "lamax": 96, "lomax": 5}, "lamin=95 is outside"),
        ({"lamin": 5, "lomin": 0, "lamax": 1, "lomax": 5}, "must be below lamax"),
        ({"lamin": 0, "lomin": "x", "lamax": 1, "lomax": 5}, "must be a number"),
    ],
)
def test_bounding_box_is_validated(bounds, message):
    with pytest.raises(InvalidRequestError, match=message):
        BoundingBox.from_mapping(bounds)
