"""A fast reader for the flat-array form OpenSky sends: JSON bytes straight to Arrow columns.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flightdata.etl import background
from flightdata.etl.arrow import API_SCHEMA, type_of
from flightdata.etl.stages import READ, TYPES, stage
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


class FlatArrayStates:
    """The rows of one snapshot as the flat-array reader saw them: a typed table plus the
    text of each row, kept for the quarantine."""

    def __init__(self, api_time: int, table: pa.Table, width: int, body: bytes, row_opens: np.ndarray) -> None:
        self.api_time = api_time
        self.table = table
        self.width = width
        self._body = body
        self._row_opens = row_opens  # where every row but the first starts (its '[')

    def row_json(self, rows: Sequence[int]) -> list[str]:
        """The rows at ``rows`` exactly as OpenSky sent them.

        ``read`` made sure brackets only delimit rows and that each row's '[' after the
        first follows the previous row's '],' (:meth:`_Brackets.delimit`): row k starts at
        its '[' and ends two bytes before the next row's, the last one three bytes before
        the body's end (``]]}``). The positions come from the bracket scan, so the
        quarantine reads no byte of the body twice."""
        first, opens, end = self._body.index(b"[[") + 1, self._row_opens, len(self._body) - 2
        return [
            self._body[(opens[i - 1] if i else first) : (opens[i] - 1 if i < len(opens) else end)].decode()
            for i in rows
        ]


def read(body: bytes, readings: Sequence[Reading] | None = None) -> FlatArrayStates | None:
    """Typed columns of a flat-array ``/states/all`` body, or ``None`` when the body is not in
    the flat-array form (the caller then parses it strictly). ``readings`` are tried in turn
    (tests name one alone)."""
    with stage(TYPES):
        start = _DOCUMENT_START.match(body)
        if start is None or not body.endswith(_DOCUMENT_END) or any(b in body for b in _REFUSED):
            return None
        width = _first_row_width(body, start.end() - 1)
        if width is None:
            return None
    with stage(READ):
        # '[["a",...],["b",...]]}' → ',,"a",...\n,,"b",...\n': every line has the same two
        # empty leading fields, so line i is row i.
        lines = body[start.end() - 2 : -2].translate(_ROWS_TO_LINES)
    for reading in readings or READINGS:
        read_rows = reading(body, start.end(), width, lines)
        if read_rows is not None:
            table, brackets = read_rows
            with stage(TYPES):
                return FlatArrayStates(int(start.group(1)), _to_api_schema(table), width, body, brackets.row_opens)
    return None


def quotes_kept(body: bytes, rows_start: int, width: int, lines: bytes) -> ReadRows | None:
    """The lines read with quoting off: a quoted number fails its column's type, and each
    string column value must be a whole quoted string, which one look at the column's
    buffers proves (:func:`_unquote`). A comma inside a string (``"Korea, Republic of"``)
    breaks the fields apart, and the next reading takes over."""
    brackets = background.submit(_count_brackets, body)  # beside the CSV reader
    table = _read_lines(lines, width, quoted=False)
    with stage(TYPES):
        if table is None or not brackets.result().delimit(table.num_rows):
            return None
        unquoted = _unquote(table)
        return None if unquoted is None else (unquoted, brackets.result())


def quotes_parsed(body: bytes, rows_start: int, width: int, lines: bytes) -> ReadRows | None:
    """The lines read with quotes parsed as CSV does, checked against a scan of where the
    body's quotes sit (:class:`_Marks`): slower, but strings may hold commas."""
    marks = background.submit(_count_marks, body, rows_start)  # beside the CSV reader
    table = _read_lines(lines, width, quoted=True)
    with stage(TYPES):
        return (table, marks.result().brackets) if table is not None and marks.result().agree_with(table) else None


# A reading's typed rows, and the bracket scan that proved each row is one flat array.
ReadRows = tuple[pa.Table, "_Brackets"]
Reading = Callable[[bytes, int, int, bytes], "ReadRows | None"]
READINGS: tuple[Reading, ...] = (quotes_kept, quotes_parsed)


def _read_lines(lines: bytes, width: int, quoted: bool) -> pa.Table | None:
    """The CSV reading of the rows' lines in two blocks, one per core; ``None`` when it fails.

    Measured against one block on one thread (the whole ETL, alternating runs in one
    process): about 0.9 ms less wall time of 12, and the same CPU time, the second chunk
    of each column included."""
    columns = STATE_VECTOR[:width]
    names = [c.name for c in columns]
    try:
        with stage(READ):
            return pacsv.read_csv(
                pa.py_buffer(lines),
                read_options=pacsv.ReadOptions(
                    column_names=[*_LEAD, *names], use_threads=True, block_size=len(lines) // 2 + 1
                ),
                parse_options=pacsv.ParseOptions(
                    quote_char='"' if quoted else False, newlines_in_values=False, ignore_empty_lines=False
                ),
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


def _unquote(table: pa.Table) -> pa.Table | None:
    """The table with its string values' quotes taken off, when a JSON parser would have
    read the same; else ``None``.

    Read with quoting off, each string column value must be a whole quoted string with no
    quote inside (:func:`_unquoted`). A quote anywhere else fails the reading already: a
    quoted number, boolean or null fails its column's type, and the bracket checks leave
    nothing between rows. Floats are finite (JSON has no NaN)."""
    names = [name for name in _STRING_COLUMNS if name in table.column_names]
    # the string columns end to end, so that the checks run once over all of them
    unquoted = _unquoted(pa.concat_arrays([chunk for name in names for chunk in table[name].chunks]))
    if unquoted is None or not _finite(table):
        return None
    at = 0
    for name in names:
        table = table.set_column(table.schema.get_field_index(name), name, unquoted.slice(at, table.num_rows))
        at += table.num_rows
    return table


def _unquoted(values: pa.StringArray) -> pa.StringArray | None:
    """``values`` without their quotes, or ``None`` unless each value is a whole quoted
    string: two bytes at least, a quote first and last, and no quote between (the data
    buffer loses exactly two quotes per value). Works on the array's buffers, where the
    values lie end to end."""
    validity, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, len(values) + 1, values.offset * 4)
    base, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buffer, np.uint8)[base:end] if data_buffer is not None else np.zeros(0, np.uint8)
    offsets = offsets - base
    present = offsets[1:] > offsets[:-1]  # a null takes no bytes; a value of none was not quoted
    valid = values.is_valid() if validity is not None else None
    if np.any(present != (valid.to_numpy(zero_copy_only=False) if valid is not None else True)):
        return None
    first, last = offsets[:-1][present], offsets[1:][present] - 1
    if np.any(last == first) or np.any(data[first] != _QUOTE) or np.any(data[last] != _QUOTE):
        return None
    kept = data.tobytes().translate(None, b'"')  # bytes.replace is five times slower at this
    if len(kept) != len(data) - 2 * len(first):  # a quote inside a value
        return None
    removed = np.zeros(len(offsets), np.int32)
    np.cumsum(present, out=removed[1:])
    bitmap = valid.buffers()[1] if valid is not None else None
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets - 2 * removed), pa.py_buffer(kept), bitmap)


def _first_row_width(body: bytes, row_start: int) -> int | None:
    try:
        row = orjson.loads(body[row_start : body.index(b"]", row_start) + 1])
    except (ValueError, orjson.JSONDecodeError):
        return None
    width = len(row) if isinstance(row, list) else 0
    return width if API_COLUMNS_MIN <= width <= API_COLUMNS_MAX else None


@dataclass(frozen=True)
class _Brackets:
    row_opens: np.ndarray  # the position of every row's '[' but the first's
    closing: int
    joined: bool  # every row's '[' but the first follows the previous row's ']' and a comma

    @property
    def opening(self) -> int:
        return len(self.row_opens) + 2  # with the states array's and the first row's

    def delimit(self, rows: int) -> bool:
        """Whether brackets only delimit the ``rows`` rows read: one pair per row plus the
        states array's (a bracket inside a string would add one; nested arrays break rows
        apart), and nothing but a comma stands between one row's ']' and the next one's '['
        (anything else would land in the two leading fields, which are not kept)."""
        return self.opening == self.closing == rows + 1 and self.joined


def _count_brackets(body: bytes) -> _Brackets:
    """One scratch array for both comparisons: a fresh megabyte per pass costs more in
    page faults than the pass itself."""
    raw = np.frombuffer(body, np.uint8)
    scratch = np.empty(len(raw), bool)
    closing = int(np.count_nonzero(np.equal(raw, _CLOSE, out=scratch)))
    opens = np.flatnonzero(np.equal(raw, _OPEN, out=scratch))[2:]  # after the array's and the first row's
    joined = bool(np.all(raw[opens - 1] == _COMMA) and np.all(raw[opens - 2] == _CLOSE)) if len(opens) else True
    return _Brackets(row_opens=opens, closing=closing, joined=joined)


def _finite(table: pa.Table) -> bool:
    return all(pc.all(pc.is_finite(table[name])).as_py() is not False for name in _FLOAT_COLUMNS)


@dataclass(frozen=True)
class _Marks:
    """What a scan of the body's bytes found, for checking a quote-parsing CSV reading against."""

    brackets: _Brackets
    quotes_in_rows: int
    quotes_beside_delimiters: bool
    quotes_in_string_columns: bool  # every quoted value sits at a string column's position

    def agree_with(self, table: pa.Table) -> bool:
        """Whether the CSV reading is what a JSON parser would have read.

        Brackets only delimit rows (:meth:`_Brackets.delimit`). Every string column value
        was a quoted JSON string and no other value was quoted: as escapes were refused,
        quotes pair up, each pair is one value, and each pair sits right between delimiters
        (whitespace beside a quote would otherwise end up in the value), and only at a
        string column's position (the CSV reader would take a quoted number as a number,
        and that pair could balance an unquoted string elsewhere). Floats are finite.
        """
        if not (
            self.brackets.delimit(table.num_rows) and self.quotes_beside_delimiters and self.quotes_in_string_columns
        ):
            return False
        strings = sum(len(table[name]) - table[name].null_count for name in _STRING_COLUMNS)
        return self.quotes_in_rows == 2 * strings and _finite(table)


def _count_marks(body: bytes, rows_start: int) -> _Marks:
    """A few whole-body numpy passes: each releases the GIL while the CSV reader runs."""
    raw = np.frombuffer(body, np.uint8)
    quotes = np.flatnonzero(raw[rows_start:] == _QUOTE) + rows_start
    before, after = raw[quotes[0::2] - 1], raw[quotes[1::2] + 1]
    paired = len(quotes) % 2 == 0
    return _Marks(
        brackets=_count_brackets(body),
        quotes_in_rows=len(quotes),
        quotes_beside_delimiters=bool(
            paired and np.all((before == _COMMA) | (before == _OPEN)) and np.all((after == _COMMA) | (after == _CLOSE))
        ),
        quotes_in_string_columns=paired and _quoted_fields_are_strings(raw, raw == _OPEN, quotes),
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
