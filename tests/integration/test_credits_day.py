"""A simulated day of OpenSky fetches against the simulator, which enforces each tier's
credits over HTTP, on a clock the test moves."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from flightdata import credits
from flightdata.opensky.api import Endpoints
from flightdata.opensky.client import ClientCredentials, OpenSkyClient
from opensky_sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fleet, TrafficShape, running


def test_a_simulated_day_with_a_standard_account_stays_within_its_credits():
    # GIVEN the simulator on a clock we move, enforcing a standard account's 4,000 credits a day
    now = [datetime(2026, 3, 1, tzinfo=UTC).timestamp()]
    plan = credits.plan_credits("standard")
    with running(fleet=Fleet(7, TrafficShape(aircraft=20)), clock=lambda: now[0]) as sim:
        client = OpenSkyClient(
            Endpoints.at(sim.url),
            ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
            credit_reserve=plan.reserve,
            sleep=lambda s: None,
        )
        fetched, last = [], None
        # WHEN every minute of the day fetches as the plan says (the client raises on a 429)
        for minute in range(1440):
            now[0] += 60 if minute else 0
            if plan.fetches_at(minute):
                last = client.fetch_states()
                fetched.append(minute)
        spent = 4000 - sim.simulator.stats()["credits"][DEMO_CLIENT_ID]

    # THEN the day spent at most its allowance less the reserve, and no gap is over 3 minutes
    assert spent == 4 * len(fetched) <= 4000 - plan.reserve
    assert last is not None
    assert last.credits_remaining >= plan.reserve
    gaps = [b - a for a, b in itertools.pairwise(fetched)]
    assert max(gaps) <= 3
    assert len(fetched) == plan.as_dict()["fetch_minutes_per_day"]
