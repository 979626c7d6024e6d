"""A fast reader for the flat-array form OpenSky sends: JSON bytes straight to Arrow columns.

``/states/all`` is ``{"time":T,"states":[[...],...]}``, an array of flat arrays. One C pass
(``flat_arrays.c``, called through ctypes) reads every row into Arrow buffers, checking
each value against the JSON grammar and its column's type as it goes. It answers only
when a JSON parser would read the same; otherwise ``read`` returns ``None`` and
``parse.py`` takes the strict orjson path. That happens for escapes, whitespace between
tokens, nested arrays (``sensors``), rows of mixed widths, values of the wrong type, and
any document that is not exactly ``{"time":T,"states":[[...],...]}``.

The C pass is built for this machine by ``make setup`` and for Lambda by the package build
(``flightdata_cdk.native``). Where no build for this machine exists, every body takes the
strict path: the same rows, slower.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import platform
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from flightdata.etl import background
from flightdata.etl.arrow import API_SCHEMA, type_of
from flightdata.etl.stages import READ, TYPES, stage
from flightdata.schema import API_COLUMNS_MAX, API_COLUMNS_MIN, STATE_VECTOR

log = logging.getLogger(__name__)

_DOCUMENT_START = re.compile(rb'\{"time":(0|[1-9]\d*),"states":\[\[')
_DOCUMENT_END = b"]]}"
_ROW_SEPARATOR = b"],["
# "[", 17 one-byte values, 16 commas and "]": no row is shorter (a comma joins it to the next).
_SHORTEST_ROW = 2 * API_COLUMNS_MIN + 1
_LONGEST_TEXT = 2**31 - 1  # Arrow's string offsets are 32-bit
SOURCE = Path(__file__).with_suffix(".c")
# Each column's kind, as flat_arrays.c names them, in the API's order.
_KINDS = {pa.float32(): b"f", pa.int64(): b"l", pa.int32(): b"i", pa.bool_(): b"b", pa.string(): b"s"}
_TYPES = [type_of(c) for c in STATE_VECTOR]
_KIND_CODES = b"".join(_KINDS.get(t, b"n") for t in _TYPES)  # sensors (a list) can only be null
_STRING_INDEXES = [i for i, t in enumerate(_TYPES) if t == pa.string()]


def library_path(machine: str) -> Path:
    """Where the C reader built for ``machine`` (``platform.machine()``'s name) lies."""
    return SOURCE.with_name(f"_flat_arrays-{machine}.so")


class _Layout(ctypes.Structure):
    """Where the C pass writes each column (``struct layout`` in flat_arrays.c)."""

    _fields_ = (
        ("values", ctypes.c_void_p),
        ("validity", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
        ("values_stride", ctypes.c_int64),
        ("validity_stride", ctypes.c_int64),
        ("data_stride", ctypes.c_int64),
    )


@functools.cache
def _library() -> ctypes.CDLL | None:
    path = library_path(platform.machine())
    try:
        library = ctypes.CDLL(str(path))
    except OSError as exc:
        log.warning("no C reader for this machine (%s): every snapshot takes the strict path", exc)
        return None
    read_rows = library.flightdata_read_rows
    read_rows.restype = ctypes.c_int64
    read_rows.argtypes = (
        ctypes.c_char_p,  # body
        ctypes.c_int64,  # start
        ctypes.c_int64,  # stop
        ctypes.c_char_p,  # kinds
        ctypes.c_int,  # min_width
        ctypes.c_int,  # max_width
        ctypes.POINTER(_Layout),
        ctypes.c_int64,  # first_row
        ctypes.c_int64,  # capacity
        ctypes.c_int32,  # data_offset
        ctypes.c_void_p,  # nulls
        ctypes.c_void_p,  # row_starts
        ctypes.POINTER(ctypes.c_int32),  # width
    )
    join_rows = library.flightdata_join_rows
    join_rows.restype = None
    join_rows.argtypes = (
        ctypes.POINTER(_Layout),
        ctypes.c_char_p,  # kinds
        ctypes.c_int,  # width
        ctypes.c_int64,  # rows
        ctypes.c_int64,  # second_row
        ctypes.c_int64,  # second_rows
        ctypes.c_int32,  # data_offset
    )
    return library


def available() -> bool:
    """Whether this machine has the C reader (else every body takes the strict path)."""
    return _library() is not None


class FlatArrayStates:
    """The rows of one snapshot as the flat-array reader saw them: a typed table plus where
    each row's text starts, kept for the quarantine."""

    def __init__(self, api_time: int, table: pa.Table, width: int, body: bytes, row_starts: np.ndarray) -> None:
        self.api_time = api_time
        self.table = table
        self.width = width
        self._body = body
        self._row_starts = row_starts

    def row_json(self, rows: Sequence[int]) -> list[str]:
        """The rows at ``rows`` exactly as OpenSky sent them: row k runs from its '[' to two
        bytes before the next row's (``],[``), the last one to two bytes before the body's
        end (``]}``)."""
        starts, last = self._row_starts, len(self._row_starts) - 1
        ends = [len(self._body) - 2 if i == last else int(starts[i + 1]) - 1 for i in rows]
        return [self._body[int(starts[i]) : end].decode() for i, end in zip(rows, ends, strict=True)]


def read(body: bytes) -> FlatArrayStates | None:
    """Typed columns of a flat-array ``/states/all`` body, or ``None`` when the body is not in
    that form, or holds a value a JSON parser would read otherwise (the caller then parses
    it strictly)."""
    start = _DOCUMENT_START.match(body)
    if _library() is None or start is None or not body.endswith(_DOCUMENT_END) or len(body) > _LONGEST_TEXT:
        return None
    # from the first row's '[' to the last row's ']'
    rows_start, rows_stop = start.end() - 1, len(body) - len(_DOCUMENT_END) + 1
    with stage(READ):
        rows = _Rows(body, rows_start, rows_stop)
        if not rows.read_in_halves() and not rows.read_at_once():
            return None
    with stage(TYPES):
        table = pa.Table.from_arrays([rows.array(i) for i in range(len(_TYPES))], schema=API_SCHEMA)
    return FlatArrayStates(int(start.group(1)), table, rows.width, body, rows.row_starts)


class _Rows:
    """The memory the C passes write the rows ``body[start:stop]`` into, one column after
    another: a block each for the values, the validity bitmaps and the strings' bytes."""

    def __init__(self, body: bytes, start: int, stop: int) -> None:
        self.body, self.start, self.stop = body, start, stop
        # room for every row of each half (a multiple of 8, so the second half's bitmaps
        # start on a byte) and one more, the first half's end offset for a string column
        self.capacity = _rows_at_most(stop - start) + 16
        self.text_length = stop - start  # no column's text is longer than the rows'
        # Arrow's memory pool keeps what it frees, so a snapshot's buffers reuse the last one's
        # pages instead of faulting in fresh ones (a third of a millisecond, make bench)
        self.values = pa.allocate_buffer(len(_TYPES) * self.capacity * 8)  # 8 bytes hold any kind
        self.validity = pa.allocate_buffer(len(_TYPES) * self.validity_stride)
        self.data = pa.allocate_buffer(len(_STRING_INDEXES) * self.text_length)
        self.layout = _Layout(
            self.values.address,
            self.validity.address,
            self.data.address,
            self.capacity * 8,
            self.validity_stride,
            self.text_length,
        )
        self.rows = self.width = 0
        self.nulls = np.zeros(len(_TYPES), np.int64)
        self.row_starts = np.empty(0, np.int64)

    @property
    def validity_stride(self) -> int:
        return (self.capacity + 7) // 8

    def read_in_halves(self) -> bool:
        """Two passes, one per core, split between two rows; the second half's rows then move
        down beside the first's. Should the split fall inside a string, the first pass
        cannot end there and refuses."""
        split = self.body.find(_ROW_SEPARATOR, (self.start + self.stop) // 2, self.stop)
        if split < 0:
            return False
        second_row = (_rows_at_most(split + 1 - self.start) + 1 + 7) // 8 * 8
        data_offset = split + 1 - self.start
        second = background.Job(self._pass, split + 2, self.stop, second_row, data_offset)
        first = self._pass(self.start, split + 1, 0, 0)
        second_read = second.result()
        if first is None or second_read is None or first[1] != second_read[1]:
            return False
        (rows, width, nulls, starts), (second_rows, _, second_nulls, second_starts) = first, second_read
        _library().flightdata_join_rows(  # type: ignore[union-attr]
            ctypes.byref(self.layout), _KIND_CODES, width, rows, second_row, second_rows, data_offset
        )
        self.rows, self.width = rows + second_rows, width
        self.nulls, self.row_starts = nulls + second_nulls, np.concatenate([starts, second_starts])
        return True

    def read_at_once(self) -> bool:
        read = self._pass(self.start, self.stop, 0, 0)
        if read is None:
            return False
        self.rows, self.width, self.nulls, self.row_starts = read
        return True

    def _pass(
        self, start: int, stop: int, first_row: int, data_offset: int
    ) -> tuple[int, int, np.ndarray, np.ndarray] | None:
        """One C pass over ``body[start:stop]`` into rows ``first_row`` onwards: (rows, width,
        nulls by column, where each row starts), or ``None`` where it refused."""
        nulls, width = np.zeros(len(_TYPES), np.int64), ctypes.c_int32(0)
        capacity = min(_rows_at_most(stop - start), self.capacity - first_row)
        row_starts = np.empty(capacity, np.int64)
        rows = _library().flightdata_read_rows(  # type: ignore[union-attr]
            self.body,
            start,
            stop,
            _KIND_CODES,
            API_COLUMNS_MIN,
            API_COLUMNS_MAX,
            ctypes.byref(self.layout),
            first_row,
            capacity,
            data_offset,
            nulls.ctypes.data,
            row_starts.ctypes.data,
            ctypes.byref(width),
        )
        return None if rows < 0 else (int(rows), width.value, nulls, row_starts[:rows])

    def array(self, index: int) -> pa.Array:
        arrow_type, rows = _TYPES[index], self.rows
        if index >= self.width or arrow_type not in _KINDS:  # category of 17-value rows; sensors
            return pa.nulls(rows, arrow_type)
        nulls = int(self.nulls[index])
        validity = self.validity[index * self.validity_stride : (index + 1) * self.validity_stride] if nulls else None
        values = self.values[index * self.capacity * 8 : (index + 1) * self.capacity * 8]
        if index not in _STRING_INDEXES:
            return pa.Array.from_buffers(arrow_type, rows, [validity, values], null_count=nulls)
        at = _STRING_INDEXES.index(index) * self.text_length
        data = self.data[at : at + self.text_length]
        return pa.Array.from_buffers(arrow_type, rows, [validity, values, data], null_count=nulls)


def _rows_at_most(length: int) -> int:
    """The most rows ``length`` bytes of rows can hold."""
    return (length + 1) // _SHORTEST_ROW + 1
