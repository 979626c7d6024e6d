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
# "[" + 17 one-byte values + 16 commas + "]" + the comma to the next row: no row is shorter.
_SHORTEST_ROW = 2 * API_COLUMNS_MIN + 1
SOURCE = Path(__file__).with_suffix(".c")
# Each column's kind, as flat_arrays.c names them, in the API's order.
_KINDS = {pa.float32(): b"f", pa.int64(): b"l", pa.int32(): b"i", pa.bool_(): b"b", pa.string(): b"s"}
_TYPES = [type_of(c) for c in STATE_VECTOR]
_BUFFERED = set(_KINDS)
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
        ("nulls", ctypes.c_void_p),
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
        ctypes.c_char_p,
        ctypes.c_int64,
        ctypes.c_int64,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int64,
        ctypes.POINTER(_Layout),
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_int32),
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
    if _library() is None or start is None or not body.endswith(_DOCUMENT_END):
        return None
    # from the first row's '[' to the last row's ']'
    rows_start, rows_stop = start.end() - 1, len(body) - len(_DOCUMENT_END) + 1
    with stage(READ):
        # Two halves, one per core, split between two rows. Should the split fall inside a
        # string, a half cannot end there and refuses: then one pass reads them all.
        split = body.find(_ROW_SEPARATOR, (rows_start + rows_stop) // 2, rows_stop)
        second = None if split < 0 else background.submit(_Rows.read, body, split + 2, rows_stop)
        halves = [_Rows.read(body, rows_start, rows_stop if second is None else split + 1)]
        if second is not None:
            halves.append(second.result())
        if any(half is None for half in halves) or len({half.width for half in halves if half}) != 1:
            halves = [_Rows.read(body, rows_start, rows_stop)]
    if halves[0] is None:
        return None
    with stage(TYPES):
        read = [half for half in halves if half is not None]
        table = pa.Table.from_arrays(
            [pa.chunked_array([half.array(i) for half in read], t) for i, t in enumerate(_TYPES)], schema=API_SCHEMA
        )
        row_starts = np.concatenate([half.row_starts for half in read])
    return FlatArrayStates(int(start.group(1)), table, read[0].width, body, row_starts)


class _Rows:
    """Rows the C pass read, and the memory it wrote them into: one block each for the
    values, the validity bitmaps and the strings' bytes, a stride per column."""

    def __init__(self, capacity: int, text_length: int) -> None:
        self.capacity, self.text_length = capacity, text_length
        self.values = np.empty(len(_TYPES) * capacity * 8, np.uint8)  # 8 bytes a row holds any kind
        self.validity = np.empty(len(_TYPES) * self.validity_stride, np.uint8)
        self.data = np.empty(len(_STRING_INDEXES) * text_length, np.uint8)
        self.nulls = np.zeros(len(_TYPES), np.int64)
        self.rows = self.width = 0
        self.row_starts = np.empty(capacity, np.int64)

    @property
    def validity_stride(self) -> int:
        return (self.capacity + 7) // 8

    @classmethod
    def read(cls, body: bytes, start: int, stop: int) -> _Rows | None:
        """The rows ``body[start:stop]``, or ``None`` where the C pass refused them."""
        library = _library()
        assert library is not None
        rows = cls((stop - start + 1) // _SHORTEST_ROW + 1, stop - start)
        layout = _Layout(
            rows.values.ctypes.data,
            rows.validity.ctypes.data,
            rows.data.ctypes.data,
            rows.capacity * 8,
            rows.validity_stride,
            rows.text_length,
            rows.nulls.ctypes.data,
        )
        width = ctypes.c_int32(0)
        read = library.flightdata_read_rows(
            body,
            start,
            stop,
            _KIND_CODES,
            API_COLUMNS_MIN,
            API_COLUMNS_MAX,
            rows.capacity,
            ctypes.byref(layout),
            rows.row_starts.ctypes.data,
            ctypes.byref(width),
        )
        if read < 0:
            return None
        rows.rows, rows.width, rows.row_starts = int(read), width.value, rows.row_starts[:read]
        return rows

    def array(self, index: int) -> pa.Array:
        arrow_type, rows = _TYPES[index], self.rows
        if index >= self.width or arrow_type not in _BUFFERED:  # category of 17-value rows; sensors
            return pa.nulls(rows, arrow_type)
        nulls = int(self.nulls[index])
        validity = (
            pa.py_buffer(self.validity)[index * self.validity_stride : (index + 1) * self.validity_stride]
            if nulls
            else None
        )
        values = pa.py_buffer(self.values)[index * self.capacity * 8 : (index + 1) * self.capacity * 8]
        if index not in _STRING_INDEXES:
            return pa.Array.from_buffers(arrow_type, rows, [validity, values], null_count=nulls)
        at = _STRING_INDEXES.index(index) * self.text_length
        data = pa.py_buffer(self.data)[at : at + self.text_length]
        return pa.Array.from_buffers(arrow_type, rows, [validity, values, data], null_count=nulls)
