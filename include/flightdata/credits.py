"""OpenSky credits, and a plan that makes them last: what each call costs, what each account
tier grants, and which minutes of the day a set of regions can be fetched in.

A global ``/states/all`` call costs 4 credits, so one region every minute spends 5,760 a day:
more than a standard account's 4,000. The plan spreads the calls the allowance pays for
evenly over the day (a standard account fetches the globe on 1,000 evenly spaced minutes,
never more than one minute skipped in a row) instead of spending everything by 16:40 UTC.
Pure arithmetic: the CLI (``flightdata plan``), the DAG's ``plan`` task and the simulator
read it, so they agree.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GLOBAL_CALL_COST = 4
# (max area in square degrees, credits) for bounding-box calls, smallest first.
BOX_COST_TIERS: tuple[tuple[float, int], ...] = ((25.0, 1), (100.0, 2), (400.0, 3))
TILE_DEGREES = 5.0  # a 5 x 5 degree tile is 25 square degrees: the 1-credit size
MINUTES_PER_DAY = 1440
DEFAULT_RESERVE = 100  # credits a minute never spends (the DAG's credit_reserve default)
DEFAULT_REGIONS: tuple[dict[str, Any], ...] = ({"name": "global"},)


@dataclass(frozen=True)
class Tier:
    """An OpenSky account type: ``credits`` granted every ``refill_minutes``."""

    name: str
    credits: int
    refill_minutes: int

    @property
    def credits_per_day(self) -> int:
        return self.credits * MINUTES_PER_DAY // self.refill_minutes

    def period_at(self, epoch_s: float) -> int:
        """The refill period (UTC day, or hour) the Unix time ``epoch_s`` falls in."""
        return int(epoch_s) // (self.refill_minutes * 60)

    def seconds_to_refill(self, epoch_s: float) -> int:
        period_s = self.refill_minutes * 60
        return period_s - int(epoch_s) % period_s


TIERS: dict[str, Tier] = {
    tier.name: tier
    for tier in (
        Tier("anonymous", 400, MINUTES_PER_DAY),
        Tier("standard", 4000, MINUTES_PER_DAY),
        Tier("feeder", 8000, MINUTES_PER_DAY),  # an active feeder's account
        Tier("licensed", 14_400, 60),
    )
}


TIER_ENV_VARS = ("AIRFLOW__FLIGHTDATA__OPENSKY_TIER", "FLIGHTDATA_OPENSKY_TIER")


def minute_of_day(when: datetime) -> int:
    """0-1439: the minute of the (UTC) day ``when`` falls in."""
    return when.hour * 60 + when.minute


def tier_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """The account tier the deployment paces for (Airflow option ``flightdata.opensky_tier``),
    or None when unset: then every minute fetches and the credit reserve alone guards."""
    env = os.environ if environ is None else environ
    for var in TIER_ENV_VARS:
        if env.get(var):
            return tier(env[var]).name
    return None


def tier(name: str) -> Tier:
    try:
        return TIERS[name]
    except KeyError:
        raise ValueError(f"OpenSky tier {name!r} is unknown; choose one of {', '.join(TIERS)}") from None


def box_area(bounds: Mapping[str, float]) -> float:
    """Square degrees, as OpenSky counts them for credits."""
    return (bounds["lamax"] - bounds["lamin"]) * (bounds["lomax"] - bounds["lomin"])


def call_cost(area: float | None) -> int:
    """Credits one ``/states/all`` call costs: ``area`` None is the whole globe."""
    if area is None:
        return GLOBAL_CALL_COST
    for max_area, cost in BOX_COST_TIERS:
        if area <= max_area:
            return cost
    return GLOBAL_CALL_COST


def tiles(bounds: Mapping[str, float]) -> list[dict[str, float]]:
    """``bounds`` cut into boxes of at most 25 square degrees (5-degree steps), covering it exactly."""

    def steps(low: float, high: float) -> list[tuple[float, float]]:
        count = max(1, math.ceil((high - low) / TILE_DEGREES - 1e-9))
        edges = [low + (high - low) * i / count for i in range(count + 1)]
        return list(itertools.pairwise(edges))

    return [
        {"lamin": la[0], "lomin": lo[0], "lamax": la[1], "lomax": lo[1]}
        for la in steps(bounds["lamin"], bounds["lamax"])
        for lo in steps(bounds["lomin"], bounds["lomax"])
    ]


@dataclass(frozen=True)
class RegionCost:
    name: str
    credits: int  # per fetch, after tiling when that is cheaper
    calls: int  # per fetch: 1, or the number of tiles
    tiled: bool


def region_cost(name: str, bounds: Mapping[str, float] | None) -> RegionCost:
    """A region's credits per fetch: as one box, or as 1-credit tiles when that is cheaper.

    With OpenSky's cost tiers tiling never is (a box of 25 to 100 square degrees costs 2 and
    needs at least 2 tiles), so this only confirms it; the comparison stays in case they change."""
    if bounds is None:
        return RegionCost(name, GLOBAL_CALL_COST, 1, tiled=False)
    whole = call_cost(box_area(bounds))
    cut = tiles(bounds)
    tiled_cost = sum(call_cost(box_area(t)) for t in cut)
    if tiled_cost < whole:
        return RegionCost(name, tiled_cost, len(cut), tiled=True)
    return RegionCost(name, whole, 1, tiled=False)


@dataclass(frozen=True)
class CreditPlan:
    """Which minutes fetch, so that one refill period's credits last until the next."""

    tier: Tier
    interval_minutes: int
    reserve: int
    regions: tuple[RegionCost, ...]
    fetches_per_period: int = field(init=False)
    slots_per_period: int = field(init=False)

    def __post_init__(self) -> None:
        slots = max(1, self.tier.refill_minutes // self.interval_minutes)
        spendable = max(0, self.tier.credits - self.reserve)
        affordable = spendable // self.credits_per_fetch if self.credits_per_fetch else slots
        object.__setattr__(self, "slots_per_period", slots)
        object.__setattr__(self, "fetches_per_period", min(slots, affordable))

    @property
    def credits_per_fetch(self) -> int:
        return sum(r.credits for r in self.regions)

    @property
    def calls_per_fetch(self) -> int:
        return sum(r.calls for r in self.regions)

    @property
    def periods_per_day(self) -> int:
        return MINUTES_PER_DAY // self.tier.refill_minutes

    @property
    def fits(self) -> bool:
        """Every slot can be fetched without crossing the reserve."""
        return self.fetches_per_period >= self.slots_per_period

    @property
    def coverage(self) -> float:
        """The share of the day's slots that are fetched."""
        return self.fetches_per_period / self.slots_per_period

    def fetches_during(self, minute: datetime) -> bool:
        """Whether the UTC minute ``minute`` is one the plan fetches."""
        return self.fetches_at(minute_of_day(minute))

    def fetches_at(self, minute_of_day: int) -> bool:
        """Whether the slot that starts at ``minute_of_day`` (0-1439, UTC) fetches: the
        affordable fetches spread evenly over each refill period (Bresenham's rule)."""
        if minute_of_day % self.interval_minutes:
            return False
        slot = (minute_of_day % self.tier.refill_minutes) // self.interval_minutes
        n, a = self.slots_per_period, self.fetches_per_period
        return (slot + 1) * a // n > slot * a // n

    def longest_gap_minutes(self) -> int:
        """The longest run of minutes between two fetches (1 when every minute fetches)."""
        minutes = [m for m in range(MINUTES_PER_DAY) if self.fetches_at(m)]
        if not minutes:
            return MINUTES_PER_DAY
        gaps = [b - a for a, b in itertools.pairwise(minutes)]
        gaps.append(minutes[0] + MINUTES_PER_DAY - minutes[-1])
        return max(gaps)

    def as_dict(self) -> dict[str, Any]:
        days = self.periods_per_day
        return {
            "tier": self.tier.name,
            "allowance_per_day": self.tier.credits_per_day,
            "reserve": self.reserve,
            "interval_minutes": self.interval_minutes,
            "regions": [r.__dict__ for r in self.regions],
            "credits_per_fetch": self.credits_per_fetch,
            "calls_per_day": self.fetches_per_period * days * self.calls_per_fetch,
            "credits_per_day": self.fetches_per_period * days * self.credits_per_fetch,
            "credits_per_day_unpaced": self.slots_per_period * days * self.credits_per_fetch,
            "fits": self.fits,
            "fetch_minutes_per_day": self.fetches_per_period * days,
            "coverage": round(self.coverage, 4),
            "longest_gap_minutes": self.longest_gap_minutes(),
        }

    def summary(self) -> str:
        d = self.as_dict()
        if self.fits:
            pacing = f"every {self.interval_minutes} minute(s), no pacing needed"
        else:
            pacing = (
                f"paced: {d['fetch_minutes_per_day']} of {self.slots_per_period * self.periods_per_day} slots a day, "
                f"evenly spread (longest gap {d['longest_gap_minutes']} minutes)"
            )
        return (
            f"OpenSky {self.tier.name}: {d['calls_per_day']} calls and {d['credits_per_day']} credits a day "
            f"of {d['allowance_per_day']} (reserve {self.reserve}); every slot would need "
            f"{d['credits_per_day_unpaced']}: {'fits' if self.fits else 'does not fit'}; {pacing}; "
            f"coverage {self.coverage:.1%}"
        )


def plan_credits(
    tier_name: str,
    regions: Sequence[Mapping[str, Any]] = DEFAULT_REGIONS,
    interval_minutes: int = 1,
    reserve: int = DEFAULT_RESERVE,
) -> CreditPlan:
    """The plan for ``regions`` (the DAG's ``regions`` param: ``name`` and an optional
    ``bbox``, none for the globe) fetched every ``interval_minutes``, keeping ``reserve``
    credits of each refill."""
    if interval_minutes < 1 or MINUTES_PER_DAY % interval_minutes:
        raise ValueError(f"interval {interval_minutes} must be a whole number of minutes that divides a day")
    if reserve < 0:
        raise ValueError(f"reserve must be 0 or more credits, got {reserve}")
    costs = tuple(region_cost(region["name"], region.get("bbox")) for region in regions)
    return CreditPlan(tier(tier_name), interval_minutes, reserve, costs)
