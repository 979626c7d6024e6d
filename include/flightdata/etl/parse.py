"""OpenSky ``/states/all`` JSON bytes → a typed Arrow table, one row per state vector.

Bodies in the flat-array form OpenSky sends go through ``flat_arrays.read`` (JSON to Arrow in
one C pass). Everything else is parsed strictly with orjson: the rows are transposed with
``zip`` and Arrow converts whole columns. Rows that are not state vectors, and values of
the wrong type, take a slow path that keeps them (as nulls plus a reason) so the ETL can
quarantine them instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
import pyarrow as pa

from flightdata.etl import flat_arrays
from flightdata.etl.arrow import API_SCHEMA, type_of
from flightdata.etl.stages import READ, TYPES, stage
from flightdata.opensky.api import check_states_document
from flightdata.opensky.errors import BadPayloadError
from flightdata.schema import API_COLUMNS_MAX, API_COLUMNS_MIN, STATE_VECTOR

MALFORMED_ROW = "malformed_row"


class MalformedSnapshotError(ValueError):
    """The bytes are not a ``/states/all`` document; nothing can be kept but the raw bytes."""


@dataclass
class ParsedSnapshot:
    """A snapshot as typed columns, one row per state vector sent."""

    api_time: int
    table: pa.Table
    columns: int | None
    # The JSON text of the rows at the given indices, for the quarantine.
    row_json: Callable[[Sequence[int]], list[str]]
    # Reasons found while typing, by row index: malformed rows and wrong-typed values.
    type_reasons: dict[int, list[str]] = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return self.table.num_rows


def parse_snapshot(body: bytes) -> ParsedSnapshot:
    """Typed rows of a ``/states/all`` body (raises MalformedSnapshotError)."""
    fast = flat_arrays.read(body)
    if fast is not None:
        return ParsedSnapshot(fast.api_time, fast.table, fast.width, fast.row_json)
    return parse_strict(body)


def parse_strict(body: bytes) -> ParsedSnapshot:
    """``parse_snapshot`` through orjson alone: any valid JSON, at the cost of a Python object per value."""
    try:
        with stage(READ):
            document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedSnapshotError(f"snapshot is not JSON: {exc.msg} at byte {exc.pos}") from None
    with stage(TYPES):
        try:
            api_time, states = check_states_document(document)
        except BadPayloadError as exc:
            raise MalformedSnapshotError(str(exc)) from None
        return parse_states(api_time, states)


def parse_states(api_time: int, states: list[Any]) -> ParsedSnapshot:
    type_reasons: dict[int, list[str]] = {}
    try:
        widths = set(map(len, states))
    except TypeError:  # a row without a length: not a list
        widths = {-1}
    uniform = widths <= {API_COLUMNS_MIN} or widths <= {API_COLUMNS_MAX}
    rows = states if uniform else _regularise(states, type_reasons)
    # Rows all have one width here, so zip drops nothing.
    column_values = list(zip(*rows, strict=False)) if rows else [()] * API_COLUMNS_MAX

    arrays = []
    for column in STATE_VECTOR:
        index = column.api_index
        assert index is not None
        if index < len(column_values):
            arrays.append(_typed(column_values[index], type_of(column), column.name, type_reasons))
        else:
            arrays.append(pa.nulls(len(states), type_of(column)))
    table = pa.Table.from_arrays(arrays, schema=API_SCHEMA)
    columns = next(iter(widths)) if len(widths) == 1 and states else None
    return ParsedSnapshot(api_time, table, columns, partial(_dumps_rows, states), type_reasons)


def _dumps_rows(states: list[Any], rows: Sequence[int]) -> list[str]:
    return [orjson.dumps(states[i]).decode() for i in rows]


def _regularise(states: list[Any], type_reasons: dict[int, list[str]]) -> list[Any]:
    """Pad 17-column rows to 18 and blank out rows that are not state vectors."""
    blank = (None,) * API_COLUMNS_MAX
    rows: list[Any] = []
    for i, row in enumerate(states):
        if isinstance(row, list) and API_COLUMNS_MIN <= len(row) <= API_COLUMNS_MAX:
            rows.append(row if len(row) == API_COLUMNS_MAX else [*row, None])
        else:
            rows.append(blank)
            type_reasons.setdefault(i, []).append(MALFORMED_ROW)
    return rows


def _json_types(arrow_type: pa.DataType) -> frozenset[type]:
    """The Python types orjson gives for the JSON values a column of ``arrow_type`` accepts.

    Arrow converts more than JSON allows here: ``true`` to 1.0, ``2.7`` to the integer 2.
    A float column takes any JSON number; an integer column only a number written without
    fraction or exponent (orjson's ``int``); ``bool`` is never a number."""
    if pa.types.is_floating(arrow_type):
        return frozenset({int, float, type(None)})
    if pa.types.is_integer(arrow_type):
        return frozenset({int, type(None)})
    if pa.types.is_boolean(arrow_type):
        return frozenset({bool, type(None)})
    if pa.types.is_string(arrow_type):
        return frozenset({str, type(None)})
    return frozenset({list, type(None)})


def _fits(value: Any, arrow_type: pa.DataType, accepted: frozenset[type]) -> bool:
    if type(value) not in accepted:
        return False
    if isinstance(value, list):  # sensors: a list of integer receiver ids
        item_types = _json_types(arrow_type.value_type)
        return all(type(item) in item_types for item in value)
    return True


def _typed(values: tuple[Any, ...], arrow_type: pa.DataType, name: str, reasons: dict[int, list[str]]) -> pa.Array:
    accepted = _json_types(arrow_type)
    types = set(map(type, values))
    if types <= accepted and list not in types:
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass  # out of range for the type: found below
    # Slow path, only for a column that holds a value of the wrong type (or a list).
    code = f"wrong_type_{name}"
    kept: list[Any] = []
    for i, value in enumerate(values):
        fits = _fits(value, arrow_type, accepted)
        if fits:
            try:
                pa.array([value], type=arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
                fits = False
        if not fits:
            reasons.setdefault(i, []).append(code)
            value = None
        kept.append(value)
    return pa.array(kept, type=arrow_type)
