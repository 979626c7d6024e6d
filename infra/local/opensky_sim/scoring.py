"""Flight segmentation scored against the simulator's ground truth (``Fleet.flights``).

A segmented flight matches a true flight when they share the icao24 and overlap by at least
80% of the true flight's seen time (from its first to its last contact a receiver could
have had). Only what could be judged counts: true flights seen whole inside the scored
span from aircraft whose rows reach the lake with positions, and segmented flights inside
the span. Departure airport accuracy is over matched flights whose takeoff the truth saw,
arrival accuracy over those whose landing it saw.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

OVERLAP = 0.8


def _overlap(flight: dict[str, Any], true: dict[str, Any]) -> float:
    seen = max(true["seen_to"] - true["seen_from"], 1.0)
    shared = min(flight["last_seen"], true["seen_to"]) - max(flight["first_seen"], true["seen_from"])
    return max(shared, 0.0) / seen


def score(
    segmented: list[dict[str, Any]], truth: list[dict[str, Any]], start: float, end: float, margin: float = 120.0
) -> dict[str, float | int]:
    """Precision, recall and airport accuracy over flights inside [start, end) (unix s);
    ``margin`` keeps out segmented flights cut by the edges of the data."""
    truth_by_aircraft: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for true in truth:
        truth_by_aircraft[true["icao24"]].append(true)
    judged_truth = [t for t in truth if t["observable"] and t["seen_from"] >= start and t["seen_to"] <= end - margin]
    judged = [f for f in segmented if f["first_seen"] >= start and f["last_seen"] <= end - margin]

    def best(flight: dict[str, Any]) -> dict[str, Any] | None:
        candidates = [(t, _overlap(flight, t)) for t in truth_by_aircraft.get(flight["icao24"], [])]
        matched = [(t, o) for t, o in candidates if o >= OVERLAP]
        return max(matched, key=lambda pair: pair[1])[0] if matched else None

    matches = {id(f): best(f) for f in judged}
    true_found = {id(t) for t in (best(f) for f in segmented) if t is not None}
    recalled = sum(1 for t in judged_truth if id(t) in true_found)
    precise = sum(1 for f in judged if matches[id(f)] is not None)

    matched = [(f, t) for f in judged if (t := matches[id(f)]) is not None]
    took_off = [(f, t) for f, t in matched if t["seen_from_takeoff"]]
    landed = [(f, t) for f, t in matched if t["seen_to_landing"]]
    departures = sum(1 for f, t in took_off if f["departure_airport"] == t["departure"])
    arrivals = sum(1 for f, t in landed if f["arrival_airport"] == t["arrival"])
    return {
        "flights_segmented": len(judged),
        "flights_true": len(judged_truth),
        "flights_precision": round(precise / len(judged), 4) if judged else 0.0,
        "flights_recall": round(recalled / len(judged_truth), 4) if judged_truth else 0.0,
        "departures_judged": len(took_off),
        "arrivals_judged": len(landed),
        "departure_airport_accuracy": round(departures / len(took_off), 4) if took_off else 0.0,
        "arrival_airport_accuracy": round(arrivals / len(landed), 4) if landed else 0.0,
    }
