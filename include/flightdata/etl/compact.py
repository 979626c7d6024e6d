"""A fast reader for the compact form OpenSky sends: JSON bytes straight to Arrow columns.

``/states/all`` is an array of flat arrays, so once the row brackets become line breaks
it reads as CSV. pyarrow's CSV reader then types every column in C++ on both cores,
with no Python object per value. The reader only answers when it can prove its
reading equals a JSON parser's; otherwise it returns ``None`` and ``parse.py`` takes
the strict orjson path. That happens for escapes, whitespace between tokens, nested
arrays (``sensors``), rows of mixed widths, values of the wrong type, NaN or infinity,
and any document that is not exactly ``{"time":T,"states":[[...],...]}``.

One looseness is left, on purpose: after the first row, the CSV reader takes numbers
spelt ``01``, ``.5`` or ``5.``, which JSON refuses, as 1, 0.5 and 5. Refusing them would
cost a scan of every digit and point (an eighth more time), and no JSON writer emits them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flightdata.etl import background
from flightdata.etl.arrow import API_SCHEMA, type_of
from flightdata.schema import API_COLUMNS_MAX, API_COLUMNS_MIN, STATE_VECTOR

_DOCUMENT_START = re.compile(rb'\{"time":(0|[1-9]\d*),"states":\[\[')
_DOCUMENT_END = b"]]}"
# Bytes that only occur in JSON as an escape or as whitespace between tokens, and the
# '+' that JSON allows in exponents only (OpenSky writes none; the CSV reader takes '+1').
_REFUSED = (b"\\", b"\n", b"\r", b"\t", b"+")
# Each row "[v,...]" becomes a line ",,v,..." (two empty leading fields; see ``read``).
_ROWS_TO_LINES = bytes.maketrans(b"[]", b",\n")
_LEAD = ("row_start", "row_open")
_STRING_COLUMNS = tuple(c.name for c in STATE_VECTOR if pa.types.is_string(type_of(c)))
_STRING_FIELD = np.array([pa.types.is_string(type_of(c)) for c in STATE_VECTOR])  # by API index
_FLOAT_COLUMNS = tuple(c.name for c in STATE_VECTOR if pa.types.is_floating(type_of(c)))
_QUOTE, _OPEN, _CLOSE, _COMMA = (ord(c) for c in '"[],')
_MIN_BLOCK = 1 << 16  # far longer than a row, which must fit in one block


class CompactStates:
    """The rows of one snapshot as the compact reader saw them: a typed table plus the
    text of each row, kept for the quarantine."""

    def __init__(self, api_time: int, table: pa.Table, width: int, body: bytes) -> None:
        self.api_time = api_time
        self.table = table
        self.width = width
        self._body = body

    def row_json(self, rows: Sequence[int]) -> list[str]:
        """The rows at ``rows`` exactly as OpenSky sent them.

        ``read`` made sure brackets only delimit rows, so the k-th '[' after the one that
        opens the states array starts row k, and the k-th ']' ends it."""
        if not rows:
            return []
        raw = np.frombuffer(self._body, np.uint8)
        brackets = np.flatnonzero((raw == _OPEN) | (raw == _CLOSE))[1:-1].reshape(-1, 2)
        return [self._body[brackets[i, 0] : brackets[i, 1] + 1].decode() for i in rows]


def read(body: bytes) -> CompactStates | None:
    """Typed columns of a compact ``/states/all`` body, or ``None`` when the body is not in
    the compact form (the caller then parses it strictly)."""
    start = _DOCUMENT_START.match(body)
    if start is None or not body.endswith(_DOCUMENT_END) or any(b in body for b in _REFUSED):
        return None
    width = _first_row_width(body, start.end() - 1)
    if width is None:
        return None
    marks = background.submit(_count_marks, body, start.end())  # beside the CSV reader
    # '[["a",...],["b",...]]}' → ',,"a",...\n,,"b",...\n': every line has the same two
    # empty leading fields, so line i is row i.
    lines = body[start.end() - 2 : -2].translate(_ROWS_TO_LINES)
    columns = STATE_VECTOR[:width]
    names = [c.name for c in columns]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(lines),
            read_options=pacsv.ReadOptions(column_names=[*_LEAD, *names], block_size=_block_size(len(lines))),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                # sensors can only be null here: a list would have brought more brackets.
                column_types={c.name: pa.null() if c.name == "sensors" else type_of(c) for c in columns},
                null_values=["null"],
                true_values=["true"],
                false_values=["false"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not marks.result().agree_with(table):
        return None
    return CompactStates(int(start.group(1)), _to_api_schema(table), width, body)


def _block_size(size: int) -> int:
    """Two blocks of equal size, one for each of the reader's threads; small bodies in one."""
    return max(_MIN_BLOCK, size // 2 + 1)


def _first_row_width(body: bytes, row_start: int) -> int | None:
    try:
        row = orjson.loads(body[row_start : body.index(b"]", row_start) + 1])
    except (ValueError, orjson.JSONDecodeError):
        return None
    width = len(row) if isinstance(row, list) else 0
    return width if API_COLUMNS_MIN <= width <= API_COLUMNS_MAX else None


@dataclass(frozen=True)
class _Marks:
    """What a scan of the body's bytes found, for checking the CSV reading against."""

    opening_brackets: int
    closing_brackets: int
    row_joins: int  # '],['
    quotes_in_rows: int
    quotes_beside_delimiters: bool
    quotes_in_string_columns: bool  # every quoted value sits at a string column's position

    def agree_with(self, table: pa.Table) -> bool:
        """Whether the CSV reading is what a JSON parser would have read.

        Brackets only delimit rows: one pair per row read plus the states array's (a
        bracket inside a string would add one; nested arrays break rows apart and fail the
        read), and nothing but a comma stands between one row's ']' and the next one's '['
        (anything else would land in the two leading fields, which are not kept). Every
        string column value was a quoted JSON string and no other value was quoted: as
        escapes were refused, quotes pair up, each pair is one value, and each pair sits
        right between delimiters (whitespace beside a quote would otherwise end up in the
        value), and only at a string column's position (the CSV reader would take a quoted
        number as a number, and that pair could balance an unquoted string elsewhere).
        Floats are finite (JSON has no NaN).
        """
        rows = table.num_rows
        brackets_ok = self.opening_brackets == self.closing_brackets == rows + 1 and self.row_joins == rows - 1
        if not (brackets_ok and self.quotes_beside_delimiters and self.quotes_in_string_columns):
            return False
        strings = sum(len(table[name]) - table[name].null_count for name in _STRING_COLUMNS)
        if self.quotes_in_rows != 2 * strings:
            return False
        return all(pc.all(pc.is_finite(table[name])).as_py() is not False for name in _FLOAT_COLUMNS)


def _count_marks(body: bytes, rows_start: int) -> _Marks:
    """A few whole-body numpy passes: each releases the GIL while the CSV reader runs."""
    raw = np.frombuffer(body, np.uint8)
    opens, closes = raw == _OPEN, raw == _CLOSE
    quotes = np.flatnonzero(raw[rows_start:] == _QUOTE) + rows_start
    before, after = raw[quotes[0::2] - 1], raw[quotes[1::2] + 1]
    paired = len(quotes) % 2 == 0
    return _Marks(
        opening_brackets=int(np.count_nonzero(opens)),
        closing_brackets=int(np.count_nonzero(closes)),
        row_joins=int(np.count_nonzero(closes[:-2] & (raw[1:-1] == _COMMA) & opens[2:])),
        quotes_in_rows=len(quotes),
        quotes_beside_delimiters=bool(
            paired and np.all((before == _COMMA) | (before == _OPEN)) and np.all((after == _COMMA) | (after == _CLOSE))
        ),
        quotes_in_string_columns=paired and _quoted_fields_are_strings(raw, opens, quotes),
    )


def _quoted_fields_are_strings(raw: np.ndarray, opens: np.ndarray, quotes: np.ndarray) -> bool:
    """Whether each quoted value's field index within its row is a string column's.

    A value's index is the number of commas between its row's '[' and its opening quote,
    less the commas inside the row's earlier strings. Works on the positions of quotes,
    commas and brackets (sorted searches), never per byte in Python."""
    if not len(quotes):
        return True
    starts, ends = quotes[0::2], quotes[1::2]
    commas = np.flatnonzero(raw == _COMMA)
    row_opens = np.flatnonzero(opens)
    row = np.searchsorted(row_opens, starts) - 1  # the row of each string
    commas_before = np.searchsorted(commas, starts)
    field = commas_before - np.searchsorted(commas, row_opens)[row]
    inside = np.searchsorted(commas, ends) - commas_before  # commas within each string
    if inside.any():  # rare: a string such as "Korea, Republic of"
        inside_before = np.cumsum(inside) - inside
        first_of_row = np.searchsorted(starts, row_opens)[row]
        field -= inside_before - inside_before[first_of_row]
    return bool(np.all((field >= 0) & (field < len(_STRING_FIELD))) and _STRING_FIELD[field].all())


def _to_api_schema(table: pa.Table) -> pa.Table:
    """Sensors and (for 17-column rows) category as typed nulls; the API schema's metadata."""
    n, read = table.num_rows, set(table.column_names)
    arrays = [table[c.name] if c.name in read else pa.nulls(n, type_of(c)) for c in STATE_VECTOR]
    sensors = API_SCHEMA.get_field_index("sensors")
    arrays[sensors] = pa.nulls(n, API_SCHEMA.field(sensors).type)
    return pa.Table.from_arrays(arrays, schema=API_SCHEMA)
