"""Quality rules for state vectors, each a vectorised mask with a reason code.

A row breaks a rule when its mask is true; a row that breaks none is valid. Missing
values are not errors here (a state vector without a position is valid but incomplete),
except where OpenSky always sends the field (icao24, last_contact).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flightdata.etl import background

ICAO24_PATTERN = "^[0-9a-f]{6}$"
LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)
ALTITUDE_RANGE_M = (-1_000.0, 30_000.0)  # Dead Sea shores to the highest balloons
VELOCITY_RANGE_MS = (0.0, 700.0)
TRACK_RANGE_DEG = (0.0, 360.0)
VERTICAL_RATE_LIMIT_MS = 160.0
CLOCK_SKEW_S = 5  # last_contact may run this far ahead of the snapshot time


def _outside(values: pa.Array, low: float, high: float) -> pa.Array:
    return pc.or_(pc.less(values, low), pc.greater(values, high))


def rule_masks(table: pa.Table, api_time: int) -> dict[str, pa.Array]:
    """Reason code → boolean mask (no nulls) over the rows of ``table``."""
    duplicates = background.submit(duplicate_mask, table)  # hashing, beside the range rules
    latitude, longitude = table["latitude"], table["longitude"]
    last_contact, time_position = table["last_contact"], table["time_position"]
    masks = {
        "bad_icao24": pc.invert(pc.fill_null(pc.match_substring_regex(table["icao24"], ICAO24_PATTERN), False)),
        "bad_latitude": _outside(latitude, *LATITUDE_RANGE),
        "bad_longitude": _outside(longitude, *LONGITUDE_RANGE),
        "partial_position": pc.xor(pc.is_null(latitude), pc.is_null(longitude)),
        "bad_altitude": pc.or_kleene(  # a missing altitude does not hide the other one
            _outside(table["baro_altitude"], *ALTITUDE_RANGE_M),
            _outside(table["geo_altitude"], *ALTITUDE_RANGE_M),
        ),
        "bad_velocity": _outside(table["velocity"], *VELOCITY_RANGE_MS),
        "bad_track": _outside(table["true_track"], *TRACK_RANGE_DEG),
        "bad_vertical_rate": pc.greater(pc.abs(table["vertical_rate"]), VERTICAL_RATE_LIMIT_MS),
        "missing_last_contact": pc.is_null(last_contact),
        "future_contact": pc.greater(last_contact, api_time + CLOCK_SKEW_S),
        "position_after_contact": pc.greater(time_position, last_contact),
        "bad_position_source": _outside(table["position_source"], 0, 3),
        "bad_category": _outside(table["category"], 0, 20),
    }
    masks = {code: pc.fill_null(mask, False).combine_chunks() for code, mask in masks.items()}
    masks["duplicate_icao24"] = duplicates.result()
    return masks


def duplicate_mask(table: pa.Table) -> pa.Array:
    """True for every row whose icao24 another row of the snapshot also has, except the one
    kept per icao24: the row with the latest ``last_contact`` (the first one on a tie).

    Repeats are found by hashing; only the rows that share an icao24 are then sorted.
    """
    n = table.num_rows
    codes = pc.fill_null(pc.dictionary_encode(table["icao24"]).combine_chunks().indices, -1).to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=1)
    shared = np.flatnonzero((codes >= 0) & (counts[codes] > 1))
    flags = np.zeros(n, dtype=bool)
    if len(shared):
        repeats = pa.table(
            {
                "code": pa.array(codes[shared]),
                "last_contact": pc.take(table["last_contact"], pa.array(shared)),
                "row": pa.array(shared),
            }
        )
        order = pc.sort_indices(
            repeats, sort_keys=[("code", "ascending"), ("last_contact", "descending"), ("row", "ascending")]
        ).to_numpy()
        ranked = codes[shared][order]
        later = np.concatenate([[False], ranked[1:] == ranked[:-1]])
        flags[shared[order][later]] = True
    return pa.array(flags)


def reasons_by_row(masks: dict[str, pa.Array]) -> tuple[pa.Array, pa.ListArray]:
    """(row indices that broke any rule, ascending; their reason codes as a list per row)."""
    indices = [pc.indices_nonzero(mask) for mask in masks.values()]
    codes = [pa.repeat(pa.scalar(code), len(idx)) for code, idx in zip(masks, indices, strict=True)]
    all_rows = pa.concat_arrays([i.cast(pa.int64()) for i in indices])
    all_codes = pa.concat_arrays([c.cast(pa.string()) for c in codes])
    if len(all_rows) == 0:
        return pa.array([], pa.int64()), pa.array([], pa.list_(pa.string()))
    order = pc.sort_indices(all_rows)  # stable: codes keep the rule order within a row
    rows = pc.take(all_rows, order)
    codes_sorted = pc.take(all_codes, order)
    ends = run_value_ends(rows)
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), ends.cast(pa.int32())])
    unique_rows = pc.take(rows, pc.subtract(ends, 1))
    return unique_rows, pa.ListArray.from_arrays(offsets, codes_sorted)


def run_value_ends(sorted_values: pa.Array) -> pa.Array:
    """Exclusive end position of each run of equal values in a sorted array."""
    n = len(sorted_values)
    changes = pc.not_equal(sorted_values.slice(1), sorted_values.slice(0, n - 1))
    ends = pc.add(pc.indices_nonzero(changes), 1)
    return pa.concat_arrays([ends.cast(pa.int64()), pa.array([n], pa.int64())])
