"""Deterministic synthetic air traffic: aircraft fly rotations between real airports.

Every aircraft shuttles between a home airport and one other, both from the airports
reference table the lake carries (``flightdata_cdk.reference``): it taxies out, takes off,
climbs, cruises on the great circle, descends, lands, taxies in and turns around at the
gate with its transponder off. Its state at any second is a pure function of that second,
so the simulator can serve any minute, and can say which flights it flew in any time range
(:meth:`Fleet.flights`): the ground truth the lake's flight segmentation is scored against.

Nothing here comes from OpenSky: identifiers, callsigns, routes and timings are drawn from a
seeded generator. The quirks real snapshots show are properties of an aircraft or of one
of its legs, so tests can predict them: aircraft that appear mid-flight (no coverage at
departure), drop out before landing, or cross a short coverage hole; callsigns sent only
after the first minutes of taxi, or never; a return leg under another flight number; a few
aircraft that keep the transponder on at the gate; and a small share of invalid rows of
known kinds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

EARTH_RADIUS_M = 6_371_000.0
EPOCH = 1_700_000_000  # positions are a function of seconds since this instant

# (country, ISO 3166 code, weight, airline designators; shorter ones start registrations:
# those aircraft fly general aviation hops) - weights give a plausible, US-heavy spread.
COUNTRIES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("United States", "US", 45.0, ("AAL", "DAL", "UAL", "SWA", "JBU", "ASA", "SKW", "FDX", "UPS", "N")),
    ("United Kingdom", "GB", 5.0, ("BAW", "EZY", "VIR", "TOM", "G")),
    ("Germany", "DE", 4.5, ("DLH", "EWG", "CFG", "BOX", "D")),
    ("Canada", "CA", 4.0, ("ACA", "WJA", "JZA", "C")),
    ("Ireland", "IE", 3.0, ("RYR", "EIN", "EI")),
    ("France", "FR", 3.0, ("AFR", "TVF", "F")),
    ("Spain", "ES", 2.5, ("IBE", "VLG", "AEA", "EC")),
    ("China", "CN", 2.5, ("CCA", "CES", "CSN", "B")),
    ("Australia", "AU", 2.0, ("QFA", "VOZ", "JST", "VH")),
    ("Turkey", "TR", 2.0, ("THY", "PGT", "TC")),
    ("Netherlands", "NL", 1.8, ("KLM", "TRA", "PH")),
    ("Switzerland", "CH", 1.5, ("SWR", "EDW", "HB")),
    ("Italy", "IT", 1.5, ("ITY", "I")),
    ("Japan", "JP", 1.5, ("JAL", "ANA", "JA")),
    ("India", "IN", 1.5, ("AIC", "IGO", "VT")),
    ("Brazil", "BR", 1.5, ("TAM", "GLO", "AZU", "PR")),
    ("Mexico", "MX", 1.2, ("AMX", "VOI", "XA")),
    ("United Arab Emirates", "AE", 1.2, ("UAE", "ETD", "A6")),
    ("Austria", "AT", 1.0, ("AUA", "OE")),
    ("Poland", "PL", 0.9, ("LOT", "SP")),
    ("Sweden", "SE", 0.8, ("SAS", "SE")),
    ("Norway", "NO", 0.8, ("NAX", "LN")),
    ("Denmark", "DK", 0.7, ("DAN", "OY")),
    ("Portugal", "PT", 0.7, ("TAP", "CS")),
    ("Belgium", "BE", 0.7, ("BEL", "OO")),
    ("Republic of Korea", "KR", 0.7, ("KAL", "AAR", "HL")),
    ("Qatar", "QA", 0.7, ("QTR", "A7")),
    ("Singapore", "SG", 0.6, ("SIA", "9V")),
    ("New Zealand", "NZ", 0.5, ("ANZ", "ZK")),
    ("South Africa", "ZA", 0.5, ("SAA", "ZS")),
    ("Finland", "FI", 0.5, ("FIN", "OH")),
    ("Czech Republic", "CZ", 0.4, ("CSA", "OK")),
    ("Greece", "GR", 0.4, ("AEE", "SX")),
    ("Hungary", "HU", 0.4, ("WZZ", "HA")),
    ("Saudi Arabia", "SA", 0.4, ("SVA", "HZ")),
    ("Argentina", "AR", 0.3, ("ARG", "LV")),
    ("Chile", "CL", 0.3, ("LAN", "CC")),
    ("Colombia", "CO", 0.3, ("AVA", "HK")),
    ("Thailand", "TH", 0.3, ("THA", "HS")),
    ("Indonesia", "ID", 0.3, ("GIA", "PK")),
    ("Kingdom of the Netherlands", "NL", 0.2, ("PH",)),
    ("Luxembourg", "LU", 0.2, ("CLX", "LX")),
    ("Iceland", "IS", 0.2, ("ICE", "TF")),
    ("Israel", "IL", 0.2, ("ELY", "4X")),
    ("Morocco", "MA", 0.2, ("RAM", "CN")),
)

# Invalid rows of known kinds: the reason code the ETL must give each one.
INVALID_KINDS: tuple[str, ...] = (
    "bad_icao24",
    "bad_latitude",
    "bad_track",
    "bad_velocity",
    "bad_altitude",
    "bad_vertical_rate",
    "future_contact",
    "position_after_contact",
    "duplicate_icao24",
)


# Leg timings (seconds) and speeds (m/s): airliners and general aviation.
TAXI_RADIUS_M = 800.0  # taxiing aircraft circle this close to the airport's reference point
AIRLINE_RANGE_M = (250_000.0, 7_000_000.0)
GA_RANGE_M = (40_000.0, 350_000.0)


@dataclass(frozen=True)
class TrafficShape:
    """Shares of the quirks and faults in the generated traffic (of aircraft, or of legs)."""

    aircraft: int = 12_000
    no_position_share: float = 0.02  # aircraft that never send a position (Mode S only)
    invalid_share: float = 0.012
    integer_float_share: float = 0.05
    empty_callsign_share: float = 0.03  # aircraft that never send a callsign
    stale_position_share: float = 0.05
    below_sea_level_share: float = 0.005
    late_callsign_share: float = 0.10  # legs whose first minutes of taxi carry no callsign
    appear_mid_flight_share: float = 0.06  # legs first seen in the air (no coverage at departure)
    drop_out_share: float = 0.05  # legs last seen in the air (no coverage at arrival)
    coverage_hole_share: float = 0.08  # legs with a 3-10 minute gap in cruise
    transponder_at_gate_share: float = 0.03  # aircraft seen on the ground through turnarounds


@dataclass(frozen=True)
class Airports:
    """The reference airports as arrays: ICAO codes, countries, positions, IATA or not."""

    icao: np.ndarray
    country: np.ndarray
    lat: np.ndarray  # degrees
    lon: np.ndarray
    has_iata: np.ndarray
    international: np.ndarray  # named an international airport: where airliners concentrate
    vector: np.ndarray  # unit vectors, shape (n, 3)


@functools.cache
def reference_airports() -> Airports:
    """The airports of the lake's reference table (the same filter, the same package)."""
    from flightdata_cdk.reference import airports_table

    table = airports_table()
    lat = np.array(table["latitude"].to_pylist())
    lon = np.array(table["longitude"].to_pylist())
    return Airports(
        icao=np.array(table["icao"].to_pylist()),
        country=np.array(table["country"].to_pylist()),
        lat=lat,
        lon=lon,
        has_iata=np.array([code is not None for code in table["iata"].to_pylist()]),
        international=np.array(["international" in name.lower() for name in table["name"].to_pylist()]),
        vector=_unit(np.radians(lat), np.radians(lon)),
    )


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _hash_uniform(ids: np.ndarray, legs: np.ndarray, salt: int) -> np.ndarray:
    """A uniform number in [0, 1) for each (aircraft, leg, salt): splitmix64 of the three."""
    with np.errstate(over="ignore"):
        x = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= legs.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(salt * 0x94D049BB133111EB & (2**64 - 1))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


class Fleet:
    """A seeded fleet whose state at any second is a pure function of that second."""

    def __init__(self, seed: int = 7, shape: TrafficShape | None = None) -> None:
        self.shape = shape or TrafficShape()
        self.seed = seed
        rng = np.random.default_rng(seed)
        n = self.shape.aircraft
        self.size = n
        self.ids = np.arange(n) + seed * 1_000_003

        weights = np.array([w for _, _, w, _ in COUNTRIES])
        country_idx = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
        self.country = [COUNTRIES[i][0] for i in country_idx]
        codes = rng.choice(0xFFFFFF, size=n, replace=False)
        self.icao24 = [f"{c:06x}" for c in codes]
        designators = [COUNTRIES[i][3][rng.integers(len(COUNTRIES[i][3]))] for i in country_idx]
        self.general_aviation = np.array([len(d) < 3 for d in designators])
        # Two callsigns: one for legs out of the home airport, one for the way back.
        self.callsigns = [(self._callsign(rng, d), self._callsign(rng, d)) for d in designators]
        for i, ga in enumerate(self.general_aviation):
            if ga:  # a registration flies under the same callsign both ways
                self.callsigns[i] = (self.callsigns[i][0], self.callsigns[i][0])

        self._routes(rng, [COUNTRIES[i][1] for i in country_idx])
        ga = self.general_aviation
        self.speed = np.where(ga, rng.uniform(50, 85, n), rng.uniform(200, 250, n))
        self.airborne_s = self.distance_m / self.speed
        self.taxi_out_s = np.where(ga, rng.uniform(120, 300, n), rng.uniform(240, 720, n))
        self.taxi_in_s = np.where(ga, rng.uniform(90, 240, n), rng.uniform(150, 480, n))
        self.gate_s = np.where(ga, rng.uniform(1800, 5400, n), rng.uniform(2400, 6000, n))
        self.taxi_speed = rng.uniform(5, 10, n)
        self.climb_rate = np.where(ga, rng.uniform(3, 5, n), rng.uniform(8, 13, n))
        self.descent_rate = np.where(ga, rng.uniform(2.5, 4, n), rng.uniform(5, 8, n))
        distance_km = self.distance_m / 1000
        self.cruise = np.where(
            ga, rng.uniform(900, 3000, n), np.minimum(12_500, 5_000 + distance_km * rng.uniform(8, 14, n))
        )
        # A few light aircraft fly low over land below sea level (the Dead Sea, Death Valley).
        below = rng.choice(
            np.flatnonzero(ga), min(int(ga.sum()), round(n * self.shape.below_sea_level_share)), replace=False
        )
        self.cruise[below] = rng.uniform(-60, -5, len(below))
        self.half_cycle_s = self.taxi_out_s + self.airborne_s + self.taxi_in_s + self.gate_s
        self.offset_s = rng.uniform(0, 2 * self.half_cycle_s)
        self.transponder_at_gate = rng.random(n) < self.shape.transponder_at_gate_share

        self.geo_offset = rng.normal(60, 40, n)
        self.position_source = rng.choice(4, size=n, p=[0.9, 0.01, 0.08, 0.01])
        self.category = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8], size=n)
        self.squawk = [f"{s:04o}" if s >= 0 else None for s in rng.integers(-400, 4096, n)]

        self.no_position = rng.random(n) < self.shape.no_position_share
        self.integer_floats = rng.random(n) < self.shape.integer_float_share
        self.empty_callsign = rng.random(n) < self.shape.empty_callsign_share
        self.stale_s = np.where(rng.random(n) < self.shape.stale_position_share, rng.integers(15, 300, n), 0)
        self.contact_lag = rng.integers(0, 6, n)

        # A stable set of aircraft sends invalid rows, spread evenly over the known kinds.
        invalid_count = round(n * self.shape.invalid_share)
        invalid_idx = rng.choice(np.flatnonzero(~self.no_position), invalid_count, replace=False)
        self.invalid_kind: dict[int, str] = {
            int(i): INVALID_KINDS[k % len(INVALID_KINDS)] for k, i in enumerate(sorted(invalid_idx))
        }
        # A duplicate repeats the icao24 of the next valid aircraft, with an older contact,
        # and is on the air exactly when that aircraft is.
        self.twin = np.arange(n)
        for i, kind in self.invalid_kind.items():
            if kind == "duplicate_icao24":
                twin = (i + 1) % n
                while twin in self.invalid_kind:
                    twin = (twin + 1) % n
                self.icao24[i] = self.icao24[twin]
                self.contact_lag[i] = self.contact_lag[twin] + 3
                self.twin[i] = twin

    def _routes(self, rng: np.random.Generator, countries: list[str]) -> None:
        """Each aircraft's home airport and the one it shuttles to: airliners between airports
        with an IATA code (a few hubs get most of the traffic), general aviation between
        nearby airports of any kind, both mostly within the aircraft's own country."""
        airports = reference_airports()
        n = self.size
        # Busier airports first: international ones, in a seeded order, then the rest.
        order = np.lexsort((rng.random(len(airports.icao)), ~airports.international))
        rank = np.empty(len(order))
        rank[order] = np.arange(len(order))
        popularity = 1.0 / (1.0 + rank) ** 0.9
        by_country: dict[tuple[str, bool], np.ndarray] = {}
        self.home = np.zeros(n, dtype=np.int64)
        self.away = np.zeros(n, dtype=np.int64)
        for i in range(n):
            ga = bool(self.general_aviation[i])
            key = (countries[i], ga)
            if key not in by_country:
                mask = (airports.country == countries[i]) & (airports.has_iata | ga)
                by_country[key] = np.flatnonzero(mask if mask.any() else airports.has_iata)
            pool = by_country[key]
            weights = popularity[pool] if not ga else np.ones(len(pool))
            self.home[i] = pool[rng.choice(len(pool), p=weights / weights.sum())]
            self.away[i] = self._destination(rng, int(self.home[i]), pool, popularity, ga)
        self.distance_m = EARTH_RADIUS_M * np.arccos(
            np.clip((airports.vector[self.home] * airports.vector[self.away]).sum(1), -1, 1)
        )

    @staticmethod
    def _destination(rng: np.random.Generator, home: int, pool: np.ndarray, popularity: np.ndarray, ga: bool) -> int:
        airports = reference_airports()
        low, high = GA_RANGE_M if ga else AIRLINE_RANGE_M
        candidates = pool if ga or rng.random() < 0.7 else np.flatnonzero(airports.has_iata)
        distance = EARTH_RADIUS_M * np.arccos(np.clip(airports.vector[candidates] @ airports.vector[home], -1, 1))
        in_range = candidates[(distance >= low) & (distance <= high)]
        if not len(in_range):  # a small country: anywhere in range will do
            candidates = np.flatnonzero(airports.has_iata | ga)
            distance = EARTH_RADIUS_M * np.arccos(np.clip(airports.vector[candidates] @ airports.vector[home], -1, 1))
            in_range = candidates[(distance >= low) & (distance <= high)]
        if not len(in_range):  # an island: the nearest other airport
            candidates = candidates[candidates != home]
            nearest = np.argmax(airports.vector[candidates] @ airports.vector[home])
            return int(candidates[nearest])
        weights = np.ones(len(in_range)) if ga else popularity[in_range]
        return int(in_range[rng.choice(len(in_range), p=weights / weights.sum())])

    @staticmethod
    def _callsign(rng: np.random.Generator, designator: str) -> str:
        if len(designator) == 3:
            suffix = str(rng.integers(1, 9999))
            if rng.random() < 0.3:
                suffix = suffix[:3] + "ABCDEFGHJKLMNPRSTUVWXYZ"[rng.integers(23)]
        else:
            suffix = "".join("ABCDEFGHJKLMNPRSTUVWXYZ"[k] for k in rng.integers(0, 23, 5 - len(designator) + 1))
        return (designator + suffix)[:8]

    # --- one leg: where each aircraft is in its rotation ---------------------------------

    def _leg(self, at_time: float) -> tuple[np.ndarray, np.ndarray]:
        """Each aircraft's leg number (even: out of home, odd: back) and seconds into it."""
        elapsed = (at_time - EPOCH) + self.offset_s
        leg = np.floor(elapsed / self.half_cycle_s).astype(np.int64)
        return leg, elapsed - leg * self.half_cycle_s

    def _visibility(self, leg: np.ndarray, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Seconds into each leg when the aircraft is first and last seen, its coverage hole,
        and when its callsign starts being sent: properties of the (aircraft, leg) pair."""
        idx = np.arange(self.size) if idx is None else idx
        ids, s = self.ids[idx], self.shape

        def u(salt: int) -> np.ndarray:
            return _hash_uniform(ids, leg, salt)

        taxi_out, airborne, taxi_in = self.taxi_out_s[idx], self.airborne_s[idx], self.taxi_in_s[idx]
        takeoff, landing = taxi_out, taxi_out + airborne
        late = u(1) < s.appear_mid_flight_share
        drop = u(3) < s.drop_out_share
        at_gate = self.transponder_at_gate[idx]
        end_on = np.where(at_gate, self.half_cycle_s[idx], landing + taxi_in)
        hole = (u(5) < s.coverage_hole_share) & (airborne > 2400)
        hole_start = takeoff + airborne * (0.3 + 0.3 * u(6))
        return {
            "from": np.where(late, takeoff + airborne * (0.1 + 0.35 * u(2)), 0.0),
            "to": np.where(drop, takeoff + airborne * (0.55 + 0.35 * u(4)), end_on),
            "hole_from": np.where(hole, hole_start, -1.0),
            "hole_to": np.where(hole, hole_start + 180 + 420 * u(7), -1.0),
            "callsign_from": np.where(u(8) < s.late_callsign_share, 60 + 240 * u(9), 0.0),
            "late": late,
            "drop": drop,
        }

    def flights(self, start: int, end: int) -> list[dict[str, Any]]:
        """The flights the fleet flew that overlap [start, end) (unix seconds): the ground
        truth. Times are unix seconds; ``seen_from``/``seen_to`` bound what a receiver saw.
        ``observable`` is False for aircraft whose rows never reach the lake with a position
        (no position sent, or every row invalid), which no segmentation can find."""
        airports = reference_airports()
        first, _ = self._leg(start)
        last, _ = self._leg(end)
        out: list[dict[str, Any]] = []
        idx = np.arange(self.size)
        for step in range(int((last - first).max()) + 2):
            leg = first - 1 + step
            keep = leg <= last
            if not keep.any():
                continue
            i, legs = idx[keep], leg[keep]
            begin = EPOCH - self.offset_s[i] + legs * self.half_cycle_s[i]
            vis = self._visibility(legs, i)
            takeoff = begin + self.taxi_out_s[i]
            landing = takeoff + self.airborne_s[i]
            on_block = landing + self.taxi_in_s[i]
            overlaps = (begin < end) & (on_block > start)
            for k in np.flatnonzero(overlaps):
                a = int(i[k])
                outbound = legs[k] % 2 == 0
                origin, destination = (self.home[a], self.away[a]) if outbound else (self.away[a], self.home[a])
                out.append(
                    {
                        "icao24": self.icao24[a],
                        "callsign": None if self.empty_callsign[a] else self.callsigns[a][0 if outbound else 1],
                        "departure": str(airports.icao[origin]),
                        "arrival": str(airports.icao[destination]),
                        "off_block": float(begin[k]),
                        "takeoff": float(takeoff[k]),
                        "landing": float(landing[k]),
                        "on_block": float(on_block[k]),
                        "seen_from": float(begin[k] + vis["from"][k]),
                        "seen_to": float(begin[k] + min(vis["to"][k], on_block[k] - begin[k])),
                        "seen_from_takeoff": not bool(vis["late"][k]),
                        "seen_to_landing": not bool(vis["drop"][k]),
                        "distance_km": float(self.distance_m[a] / 1000),
                        "observable": not (self.no_position[a] or (a in self.invalid_kind)),
                    }
                )
        return out

    def _on_air(self, tau: np.ndarray, vis: dict[str, np.ndarray]) -> np.ndarray:
        seen = (tau >= vis["from"]) & (tau < vis["to"]) & ~((tau >= vis["hole_from"]) & (tau < vis["hole_to"]))
        return seen[self.twin]  # a duplicate is on the air when its twin is

    def served(self, at_time: int) -> tuple[int, int]:
        """(state vectors, of which invalid) that ``states_at(at_time)`` sends for the globe."""
        leg, tau = self._leg(float(at_time))
        on_air = np.flatnonzero(self._on_air(tau, self._visibility(leg)))
        return len(on_air), len(set(on_air.tolist()) & self.invalid_kind.keys())

    def states_at(
        self,
        at_time: int,
        box: tuple[float, float, float, float] | None = None,
        extended: bool = False,
    ) -> list[tuple]:
        """State vectors at ``at_time`` (unix seconds) as OpenSky sends them, optionally in a box."""
        airports = reference_airports()
        leg, tau = self._leg(float(at_time))
        vis = self._visibility(leg)
        outbound = leg % 2 == 0
        origin = np.where(outbound, self.home, self.away)
        destination = np.where(outbound, self.away, self.home)
        takeoff = self.taxi_out_s
        landing = takeoff + self.airborne_s
        airborne = (tau >= takeoff) & (tau < landing)
        visible = self._on_air(tau, vis)

        # In the air: along the great circle at constant ground speed.
        a, b = airports.vector[origin], airports.vector[destination]
        omega = np.maximum(self.distance_m / EARTH_RADIUS_M, 1e-9)
        f = np.clip((tau - takeoff) / self.airborne_s, 0, 1)
        sin_o = np.sin(omega)[:, None]
        pos = (np.sin((1 - f) * omega)[:, None] * a + np.sin(f * omega)[:, None] * b) / sin_o
        vel = (-np.cos((1 - f) * omega)[:, None] * a + np.cos(f * omega)[:, None] * b) / sin_o
        lat = np.arcsin(np.clip(pos[:, 2], -1, 1))
        lon = np.arctan2(pos[:, 1], pos[:, 0])
        east = np.stack([-np.sin(lon), np.cos(lon), np.zeros(self.size)], axis=1)
        north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], axis=1)
        track = np.degrees(np.arctan2((vel * east).sum(1), (vel * north).sum(1))) % 360.0
        lat_deg, lon_deg = np.degrees(lat), np.degrees(lon)

        # On the ground: circling the airport at taxi speed (stopped at the gate).
        at_origin = tau < takeoff
        ground_airport = np.where(at_origin, origin, destination)
        at_gate = tau >= landing + self.taxi_in_s
        angle = self.taxi_speed * tau / TAXI_RADIUS_M
        g_lat0 = airports.lat[ground_airport]
        g_lat = g_lat0 + np.degrees(TAXI_RADIUS_M * np.sin(angle) / EARTH_RADIUS_M)
        g_lon = airports.lon[ground_airport] + np.degrees(
            TAXI_RADIUS_M * np.cos(angle) / (EARTH_RADIUS_M * np.cos(np.radians(g_lat0)))
        )
        g_track = np.degrees(np.arctan2(-np.sin(angle), np.cos(angle))) % 360.0
        lat_deg = np.where(airborne, lat_deg, g_lat)
        lon_deg = (np.where(airborne, lon_deg, g_lon) + 180.0) % 360.0 - 180.0
        track = np.where(airborne, track, g_track)
        velocity = np.where(airborne, self.speed, np.where(at_gate, 0.0, self.taxi_speed))

        x = tau - takeoff  # seconds since takeoff
        climb, descent = self.climb_rate * x, self.descent_rate * (self.airborne_s - x)
        altitude = np.minimum(np.minimum(self.cruise, np.maximum(climb, 0)), np.maximum(descent, 0))
        altitude = np.where(self.cruise < 0, self.cruise, altitude)
        vertical_rate = np.where(
            altitude == self.cruise, 0.0, np.where(climb <= descent, self.climb_rate, -self.descent_rate)
        )

        if box is not None:
            lamin, lomin, lamax, lomax = box
            inside = (lat_deg >= lamin) & (lat_deg <= lamax) & (lon_deg >= lomin) & (lon_deg <= lomax)
            selected = np.flatnonzero(visible & inside)
        else:
            selected = np.flatnonzero(visible)

        last_contact = at_time - self.contact_lag
        callsign_sent = tau >= vis["callsign_from"]
        columns = {
            "lon": np.round(lon_deg, 4),
            "lat": np.round(lat_deg, 4),
            "baro": np.round(altitude, 2),
            "velocity": np.round(velocity, 2),
            "track": np.round(track, 2),
            "vr": np.round(vertical_rate, 2),
            "geo": np.round(altitude + self.geo_offset, 2),
        }
        return [
            self._row(
                int(i),
                at_time,
                int(last_contact[i]),
                columns,
                extended,
                bool(~airborne[i]),
                0 if outbound[i] else 1,
                bool(callsign_sent[i]),
            )
            for i in selected
        ]

    def _row(
        self,
        i: int,
        at_time: int,
        last_contact: int,
        c: dict[str, np.ndarray],
        extended: bool,
        on_ground: bool,
        direction: int,
        callsign_sent: bool,
    ) -> tuple:
        as_int = bool(self.integer_floats[i])

        def num(value: float) -> float | int:
            return round(value) if as_int else float(value)

        lon: float | int | None = float(c["lon"][i])
        lat: float | int | None = float(c["lat"][i])
        baro = None if on_ground else num(c["baro"][i])
        geo = None if on_ground else num(c["geo"][i])
        velocity = num(c["velocity"][i])
        track = num(c["track"][i])
        vr = None if on_ground else num(c["vr"][i])
        time_position: int | None = last_contact - int(self.stale_s[i])
        if self.no_position[i]:
            lon = lat = time_position = None
        sent = callsign_sent and not self.empty_callsign[i]
        callsign = self.callsigns[i][direction].ljust(8) if sent else ""
        icao24 = self.icao24[i]

        kind = self.invalid_kind.get(i)
        if kind == "bad_icao24":
            icao24 = icao24[:4] + "zz"
        elif kind == "bad_latitude":
            lat = 91.5 + (i % 7)
        elif kind == "bad_track":
            track = 360.5 + (i % 90)
        elif kind == "bad_velocity":
            velocity = -5.0 - (i % 20)
        elif kind == "bad_altitude":
            baro = 45_000.0 + i % 1000
        elif kind == "bad_vertical_rate":
            vr = 250.0 + (i % 50)
        elif kind == "future_contact":
            last_contact = at_time + 600
            time_position = last_contact
        elif kind == "position_after_contact":
            time_position = last_contact + 30

        row = (
            icao24,
            callsign,
            self.country[i],
            time_position,
            last_contact,
            lon,
            lat,
            baro,
            on_ground,
            velocity,
            track,
            vr,
            None,
            geo,
            self.squawk[i],
            False,
            int(self.position_source[i]),
        )
        if extended:
            return (*row, int(self.category[i]))
        return row
