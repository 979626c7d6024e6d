"""Quality rules for state vectors, each a vectorised mask with a reason code.

A row breaks a rule when its mask is true; a row that breaks none is valid. Missing
values are not errors here (a state vector without a position is valid but incomplete),
except where OpenSky always sends the field (icao24, last_contact).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ICAO24_LENGTH = 6  # lowercase hex digits
_HEX_DIGIT = np.zeros(256, bool)
_HEX_DIGIT[np.frombuffer(b"0123456789abcdef", np.uint8)] = True
LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)
ALTITUDE_RANGE_M = (-1_000.0, 30_000.0)  # Dead Sea shores to the highest balloons
VELOCITY_RANGE_MS = (0.0, 700.0)
TRACK_RANGE_DEG = (0.0, 360.0)
VERTICAL_RATE_LIMIT_MS = 160.0
CLOCK_SKEW_S = 5  # last_contact may run this far ahead of the snapshot time


def _outside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return (values < low) | (values > high)  # a null is NaN here, and NaN compares false


def _numbers(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as numpy, nulls as NaN (JSON has no NaN, so NaN means null here)."""
    return table[name].to_numpy()


def rule_masks(table: pa.Table, api_time: int) -> dict[str, np.ndarray]:
    """Reason code → boolean mask over the rows of ``table``.

    The rules run in numpy: a null reads as NaN, which no comparison matches, so a missing
    value breaks no range rule. That is a numpy call per rule instead of three pyarrow calls
    (compare, combine, fill the nulls), each of which cost more in Python than in C++. The
    duplicate check runs here too: on the second thread it saved no wall time and cost
    about 0.9 ms of CPU in handing the interpreter back and forth (make bench)."""
    latitude, longitude = _numbers(table, "latitude"), _numbers(table, "longitude")
    icao24 = _Texts(table["icao24"])
    last_contact, time_position = _numbers(table, "last_contact"), _numbers(table, "time_position")
    masks = {
        "bad_icao24": ~icao24.are_icao24(),
        "bad_latitude": _outside(latitude, *LATITUDE_RANGE),
        "bad_longitude": _outside(longitude, *LONGITUDE_RANGE),
        "partial_position": np.isnan(latitude) != np.isnan(longitude),
        # a missing altitude does not hide the other one
        "bad_altitude": _outside(_numbers(table, "baro_altitude"), *ALTITUDE_RANGE_M)
        | _outside(_numbers(table, "geo_altitude"), *ALTITUDE_RANGE_M),
        "bad_velocity": _outside(_numbers(table, "velocity"), *VELOCITY_RANGE_MS),
        "bad_track": _outside(_numbers(table, "true_track"), *TRACK_RANGE_DEG),
        "bad_vertical_rate": np.abs(_numbers(table, "vertical_rate")) > VERTICAL_RATE_LIMIT_MS,
        "missing_last_contact": np.isnan(last_contact),
        "future_contact": last_contact > api_time + CLOCK_SKEW_S,
        "position_after_contact": time_position > last_contact,
        "bad_position_source": _outside(_numbers(table, "position_source"), 0, 3),
        "bad_category": _outside(_numbers(table, "category"), 0, 20),
    }
    masks["duplicate_icao24"] = duplicate_mask(table, icao24)
    return masks


class _Texts:
    """A string column read off its buffers: each value's first 7 bytes as one word (zero
    past its end) and its length. A lookup per byte and a sort of words cost a fifth of a
    regular expression and a hash table over the strings (make bench)."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        values = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        validity, offsets_buffer, data_buffer = values.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int32, len(values) + 1, values.offset * 4).astype(np.int64)
        data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        padded = np.concatenate([data[offsets[0] : offsets[-1]], np.zeros(8, np.uint8)])
        self.values, self.text, self.starts = values, padded[:-8], offsets - offsets[0]
        self.lengths = np.diff(offsets)
        self.valid = values.is_valid().to_numpy(zero_copy_only=False) if validity is not None else None
        # every byte position's next 8 bytes as a little-endian word, then one per value
        words = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))[self.starts[:-1]]
        kept_bits = (np.minimum(self.lengths, 7) * 8).astype(np.uint64)  # a key holds 7 bytes and a length
        self.words = words & ((np.uint64(1) << kept_bits) - np.uint64(1))

    def are_icao24(self) -> np.ndarray:
        """Whether each value is six lowercase hex digits."""
        six = self.lengths == ICAO24_LENGTH
        if self.valid is not None:
            six &= self.valid
        # the bytes that are not hex digits so far, at each value's start and end
        others = np.zeros(len(self.text) + 1, np.int32)
        np.cumsum(~_HEX_DIGIT[self.text], out=others[1:])
        return six & (others[self.starts[1:]] == others[self.starts[:-1]])

    def keys(self) -> np.ndarray:
        """An int64 per value, equal exactly where the values are: a value of up to 7 bytes
        is its bytes and its length (>= 0), a longer one its rank among the longer ones
        (<= -2), a null -1."""
        keys = self.words.astype(np.int64) | (self.lengths << 56)
        long = np.flatnonzero(self.lengths > 7)
        if len(long):
            codes = pc.dictionary_encode(self.values.take(pa.array(long))).indices.to_numpy()
            keys[long] = -2 - codes
        if self.valid is not None:
            keys[~self.valid] = -1
        return keys


def duplicate_mask(table: pa.Table, icao24: _Texts | None = None) -> np.ndarray:
    """True for every row whose icao24 another row of the snapshot also has, except the one
    kept per icao24: the row with the latest ``last_contact`` (the first one on a tie).

    Repeats are found by sorting one int64 key per icao24; only the rows that share an
    icao24 are then ordered.
    """
    n = table.num_rows
    codes = (icao24 or _Texts(table["icao24"])).keys()
    present = np.sort(codes[codes != -1])
    repeated = np.unique(present[1:][present[1:] == present[:-1]])
    shared = np.flatnonzero(np.isin(codes, repeated)) if len(repeated) else np.zeros(0, np.int64)
    flags = np.zeros(n, dtype=bool)
    if len(shared):
        # the few rows that share an icao24, ordered by it, then latest contact first (a
        # missing one last), then by row: the first of each icao24 is kept
        last_contact = pc.take(table["last_contact"], pa.array(shared)).to_numpy(zero_copy_only=False)
        latest_first = -np.nan_to_num(last_contact.astype(float), nan=-np.inf)
        order = np.lexsort((shared, latest_first, codes[shared]))
        ranked = codes[shared][order]
        later = np.concatenate([[False], ranked[1:] == ranked[:-1]])
        flags[shared[order][later]] = True
    return flags


def reasons_by_row(masks: dict[str, np.ndarray]) -> tuple[pa.Array, pa.ListArray]:
    """(row indices that broke any rule, ascending; their reason codes as a list per row, in
    rule order)."""
    rows = np.flatnonzero(np.logical_or.reduce(list(masks.values())))
    broken = np.stack([mask[rows] for mask in masks.values()], axis=1)  # broken row × rule
    row, rule = np.nonzero(broken)  # row by row, each row's rules in order
    offsets = np.zeros(len(rows) + 1, np.int32)
    np.cumsum(np.bincount(row, minlength=len(rows)), out=offsets[1:])
    codes = pc.take(pa.array(list(masks), pa.string()), pa.array(rule, pa.int64()))
    return pa.array(rows, pa.int64()), pa.ListArray.from_arrays(pa.array(offsets), codes)
