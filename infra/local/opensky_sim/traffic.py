"""Deterministic synthetic air traffic: every aircraft flies a great circle, so minutes are coherent.

Nothing here comes from OpenSky: identifiers, callsigns and positions are drawn from a
seeded generator. The quirks real snapshots show, and a small share of invalid rows of
known kinds, are properties of individual aircraft, so tests can predict them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_000.0
EPOCH = 1_700_000_000  # positions are a function of seconds since this instant

# (country, weight, airline designators) — weights give a plausible, US-heavy spread.
COUNTRIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("United States", 45.0, ("AAL", "DAL", "UAL", "SWA", "JBU", "ASA", "SKW", "FDX", "UPS", "N")),
    ("United Kingdom", 5.0, ("BAW", "EZY", "VIR", "TOM", "G")),
    ("Germany", 4.5, ("DLH", "EWG", "CFG", "BOX", "D")),
    ("Canada", 4.0, ("ACA", "WJA", "JZA", "C")),
    ("Ireland", 3.0, ("RYR", "EIN", "EI")),
    ("France", 3.0, ("AFR", "TVF", "F")),
    ("Spain", 2.5, ("IBE", "VLG", "AEA", "EC")),
    ("China", 2.5, ("CCA", "CES", "CSN", "B")),
    ("Australia", 2.0, ("QFA", "VOZ", "JST", "VH")),
    ("Turkey", 2.0, ("THY", "PGT", "TC")),
    ("Netherlands", 1.8, ("KLM", "TRA", "PH")),
    ("Switzerland", 1.5, ("SWR", "EDW", "HB")),
    ("Italy", 1.5, ("ITY", "I")),
    ("Japan", 1.5, ("JAL", "ANA", "JA")),
    ("India", 1.5, ("AIC", "IGO", "VT")),
    ("Brazil", 1.5, ("TAM", "GLO", "AZU", "PR")),
    ("Mexico", 1.2, ("AMX", "VOI", "XA")),
    ("United Arab Emirates", 1.2, ("UAE", "ETD", "A6")),
    ("Austria", 1.0, ("AUA", "OE")),
    ("Poland", 0.9, ("LOT", "SP")),
    ("Sweden", 0.8, ("SAS", "SE")),
    ("Norway", 0.8, ("NAX", "LN")),
    ("Denmark", 0.7, ("DAN", "OY")),
    ("Portugal", 0.7, ("TAP", "CS")),
    ("Belgium", 0.7, ("BEL", "OO")),
    ("Republic of Korea", 0.7, ("KAL", "AAR", "HL")),
    ("Qatar", 0.7, ("QTR", "A7")),
    ("Singapore", 0.6, ("SIA", "9V")),
    ("New Zealand", 0.5, ("ANZ", "ZK")),
    ("South Africa", 0.5, ("SAA", "ZS")),
    ("Finland", 0.5, ("FIN", "OH")),
    ("Czech Republic", 0.4, ("CSA", "OK")),
    ("Greece", 0.4, ("AEE", "SX")),
    ("Hungary", 0.4, ("WZZ", "HA")),
    ("Saudi Arabia", 0.4, ("SVA", "HZ")),
    ("Argentina", 0.3, ("ARG", "LV")),
    ("Chile", 0.3, ("LAN", "CC")),
    ("Colombia", 0.3, ("AVA", "HK")),
    ("Thailand", 0.3, ("THA", "HS")),
    ("Indonesia", 0.3, ("GIA", "PK")),
    ("Kingdom of the Netherlands", 0.2, ("PH",)),
    ("Luxembourg", 0.2, ("CLX", "LX")),
    ("Iceland", 0.2, ("ICE", "TF")),
    ("Israel", 0.2, ("ELY", "4X")),
    ("Morocco", 0.2, ("RAM", "CN")),
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


@dataclass(frozen=True)
class TrafficShape:
    """Shares of the quirks and faults in the generated traffic."""

    aircraft: int = 12_000
    on_ground_share: float = 0.07
    no_position_share: float = 0.02
    invalid_share: float = 0.012
    integer_float_share: float = 0.05
    empty_callsign_share: float = 0.03
    stale_position_share: float = 0.05
    below_sea_level_share: float = 0.005


class Fleet:
    """A seeded fleet whose state at any second is a pure function of that second."""

    def __init__(self, seed: int = 7, shape: TrafficShape | None = None) -> None:
        self.shape = shape or TrafficShape()
        rng = np.random.default_rng(seed)
        n = self.shape.aircraft
        self.size = n

        weights = np.array([w for _, w, _ in COUNTRIES])
        country_idx = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
        self.country = [COUNTRIES[i][0] for i in country_idx]
        codes = rng.choice(0xFFFFFF, size=n, replace=False)
        self.icao24 = [f"{c:06x}" for c in codes]
        self.callsign = [self._callsign(rng, COUNTRIES[i][2]) for i in country_idx]

        # Great-circle motion: start point p0, unit tangent d, angular speed w, phase.
        lat0 = np.radians(self._latitudes(rng, n))
        lon0 = np.radians(rng.uniform(-180, 180, n))
        heading = rng.uniform(0, 2 * math.pi, n)
        self.p0 = np.stack([np.cos(lat0) * np.cos(lon0), np.cos(lat0) * np.sin(lon0), np.sin(lat0)], axis=1)
        east = np.stack([-np.sin(lon0), np.cos(lon0), np.zeros(n)], axis=1)
        north = np.stack([-np.sin(lat0) * np.cos(lon0), -np.sin(lat0) * np.sin(lon0), np.cos(lat0)], axis=1)
        self.d = north * np.cos(heading)[:, None] + east * np.sin(heading)[:, None]

        self.on_ground = rng.random(n) < self.shape.on_ground_share
        self.speed = np.where(self.on_ground, rng.uniform(0, 12, n), rng.uniform(120, 260, n))
        self.cruise = np.where(rng.random(n) < 0.25, rng.uniform(300, 4000, n), rng.uniform(7000, 12500, n))
        below = (rng.random(n) < self.shape.below_sea_level_share) & ~self.on_ground
        self.cruise[below] = rng.uniform(-60, -5, below.sum())
        self.amplitude = np.where(below, 0.0, rng.uniform(0, 150, n))
        self.period = rng.uniform(600, 3600, n)
        self.phase = rng.uniform(0, 2 * math.pi, n)
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
        invalid_idx = rng.choice(np.flatnonzero(~self.no_position & ~self.on_ground), invalid_count, replace=False)
        self.invalid_kind: dict[int, str] = {
            int(i): INVALID_KINDS[k % len(INVALID_KINDS)] for k, i in enumerate(sorted(invalid_idx))
        }
        # A duplicate repeats the icao24 of the next valid aircraft, with an older contact.
        for i, kind in self.invalid_kind.items():
            if kind == "duplicate_icao24":
                twin = (i + 1) % n
                while twin in self.invalid_kind:
                    twin = (twin + 1) % n
                self.icao24[i] = self.icao24[twin]
                self.contact_lag[i] = self.contact_lag[twin] + 3

    @staticmethod
    def _latitudes(rng: np.random.Generator, n: int) -> np.ndarray:
        band = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
        lat = np.where(band == 0, rng.uniform(25, 60, n), rng.uniform(-40, 25, n))
        return np.where(band == 2, rng.uniform(-60, 75, n), lat)

    @staticmethod
    def _callsign(rng: np.random.Generator, designators: tuple[str, ...]) -> str:
        designator = designators[rng.integers(len(designators))]
        if len(designator) == 3:
            suffix = str(rng.integers(1, 9999))
            if rng.random() < 0.3:
                suffix = suffix[:3] + "ABCDEFGHJKLMNPRSTUVWXYZ"[rng.integers(23)]
        else:
            suffix = "".join("ABCDEFGHJKLMNPRSTUVWXYZ"[k] for k in rng.integers(0, 23, 5 - len(designator) + 1))
        return (designator + suffix)[:8]

    def states_at(
        self,
        at_time: int,
        box: tuple[float, float, float, float] | None = None,
        extended: bool = False,
    ) -> list[tuple]:
        """State vectors at ``at_time`` (unix seconds) as OpenSky sends them, optionally in a box."""
        n = self.size
        t = float(at_time - EPOCH)
        theta = self.speed * t / EARTH_RADIUS_M
        cos_t, sin_t = np.cos(theta)[:, None], np.sin(theta)[:, None]
        pos = self.p0 * cos_t + self.d * sin_t
        vel = -self.p0 * sin_t + self.d * cos_t
        lat = np.arcsin(np.clip(pos[:, 2], -1, 1))
        lon = np.arctan2(pos[:, 1], pos[:, 0])
        east = np.stack([-np.sin(lon), np.cos(lon), np.zeros(n)], axis=1)
        north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], axis=1)
        track = np.degrees(np.arctan2((vel * east).sum(1), (vel * north).sum(1))) % 360.0
        lat_deg, lon_deg = np.degrees(lat), np.degrees(lon)

        omega = 2 * math.pi / self.period
        altitude = self.cruise + self.amplitude * np.sin(omega * t + self.phase)
        vertical_rate = self.amplitude * omega * np.cos(omega * t + self.phase)

        if box is not None:
            lamin, lomin, lamax, lomax = box
            selected = np.flatnonzero((lat_deg >= lamin) & (lat_deg <= lamax) & (lon_deg >= lomin) & (lon_deg <= lomax))
        else:
            selected = np.arange(n)

        last_contact = at_time - self.contact_lag
        columns = {
            "lon": np.round(lon_deg, 4),
            "lat": np.round(lat_deg, 4),
            "baro": np.round(altitude, 2),
            "velocity": np.round(self.speed, 2),
            "track": np.round(track, 2),
            "vr": np.round(vertical_rate, 2),
            "geo": np.round(altitude + self.geo_offset, 2),
        }
        rows = [self._row(int(i), at_time, int(last_contact[i]), columns, extended) for i in selected]
        return rows

    def _row(self, i: int, at_time: int, last_contact: int, c: dict[str, np.ndarray], extended: bool) -> tuple:
        on_ground = bool(self.on_ground[i])
        as_int = bool(self.integer_floats[i])

        def num(value: float) -> float | int:
            return round(value) if as_int else float(value)

        lon: float | int | None = num(c["lon"][i])
        lat: float | int | None = num(c["lat"][i])
        baro = None if on_ground else num(c["baro"][i])
        geo = None if on_ground else num(c["geo"][i])
        velocity = num(c["velocity"][i])
        track = num(c["track"][i])
        vr = None if on_ground else num(c["vr"][i])
        time_position: int | None = last_contact - int(self.stale_s[i])
        if self.no_position[i]:
            lon = lat = time_position = None
        callsign = "" if self.empty_callsign[i] else self.callsign[i].ljust(8)
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
