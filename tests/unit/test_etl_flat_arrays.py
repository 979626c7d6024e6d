"""The flat-array reader must read exactly what the strict orjson path reads, or step aside."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest

from flightdata.etl import flat_arrays
from flightdata.etl.arrow import type_of
from flightdata.etl.parse import MalformedSnapshotError, parse_snapshot, parse_strict
from flightdata.etl.transform import transform_parsed
from flightdata.lake import SnapshotContext
from flightdata.schema import STATE_VECTOR
from opensky_sim import Fleet, TrafficShape

API_TIME = 1_767_225_600
CONTEXT = SnapshotContext(datetime(2026, 1, 1, tzinfo=UTC), ingested_at=datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC))
ROW = (
    b'["a1b2c3","TST101  ","United States",1767225598,1767225599,-73.7781,40.6413,'
    b'10972.8,false,231.47,87.12,-0.33,null,11049.0,"1200",false,0]'
)


def body_of(*rows: bytes, api_time: int = API_TIME) -> bytes:
    return b'{"time":%d,"states":[%s]}' % (api_time, b",".join(rows))


def simulated(seed: int, extended: bool = False, aircraft: int = 3_000) -> bytes:
    fleet = Fleet(seed=seed, shape=TrafficShape(aircraft=aircraft, invalid_share=0.05))
    return orjson.dumps({"time": API_TIME, "states": fleet.states_at(API_TIME, extended=extended)})


def assert_same_reading(body: bytes) -> None:
    fast, strict = parse_snapshot(body), parse_strict(body)
    assert fast.api_time == strict.api_time
    assert fast.columns == strict.columns
    assert fast.table.equals(strict.table)
    assert fast.type_reasons == strict.type_reasons
    rows = range(fast.record_count)
    # The same JSON values; the flat-array path keeps the text as sent (1e2 stays 1e2).
    assert [orjson.loads(text) for text in fast.row_json(rows)] == [orjson.loads(t) for t in strict.row_json(rows)]


def test_this_machine_has_the_c_reader():
    """make setup builds it; without it every snapshot would take the strict path, slowly."""
    assert flat_arrays.available()


@pytest.mark.parametrize(("seed", "extended"), [(1, False), (2, True), (3, False), (4, True)])
def test_simulated_snapshots_read_alike_through_both_paths(seed, extended):
    body = simulated(seed, extended)

    assert flat_arrays.read(body) is not None
    assert_same_reading(body)


def test_a_comma_inside_a_string_is_read_as_part_of_it():
    body = body_of(ROW, ROW.replace(b'"United States"', b'"Korea, Republic of"').replace(b"a1b2c3", b"b00001"))

    assert flat_arrays.read(body) is not None
    assert_same_reading(body)


@pytest.mark.parametrize("at", range(1, 9))
def test_rows_are_read_alike_wherever_the_split_between_the_two_halves_falls(at):
    """The body is read in two halves, split at the first '],[' after its middle. A string
    holding '],[' there makes the split fall inside it: one pass then reads the rows."""
    rows = [ROW.replace(b"a1b2c3", b"b%05d" % i) for i in range(9)]
    rows[at] = rows[at].replace(b'"TST101  "', b'"],[],["').replace(b'"1200"', b'"[1,2],[3]"')
    body = body_of(*rows)

    read = flat_arrays.read(body)
    assert read is not None
    assert read.table["callsign"].to_pylist()[at] == "],[],["
    assert_same_reading(body)


def test_every_row_count_reads_alike_so_the_second_halfs_bits_land_at_every_offset():
    """The second half's validity and boolean bits move down to right after the first
    half's rows, which end at any bit of a byte: nulls and booleans vary row by row."""
    rng = random.Random(20261208)
    for count in range(2, 42):
        rows = []
        for i in range(count):
            row = ROW.replace(b"a1b2c3", b"c%05d" % i)
            if rng.random() < 0.5:
                row = row.replace(b'"TST101  "', b"null")
            if rng.random() < 0.5:
                row = row.replace(b",false,231.47", b",true,231.47")
            if rng.random() < 0.3:
                row = row.replace(b"-0.33", b"null")
            rows.append(row)
        assert_same_reading(body_of(*rows))


def test_without_the_c_reader_every_body_takes_the_strict_path(monkeypatch):
    body = simulated(6)
    monkeypatch.setattr(flat_arrays, "_library", lambda: None)

    assert flat_arrays.read(body) is None
    assert parse_snapshot(body).table.equals(parse_strict(body).table)


def test_both_paths_give_the_same_lake_rows_quarantine_and_summary():
    body = simulated(5)
    fast = transform_parsed(parse_snapshot(body), CONTEXT)
    strict = transform_parsed(parse_strict(body), CONTEXT)

    assert fast.processed.equals(strict.processed)
    assert fast.quarantine.equals(strict.quarantine)
    assert fast.summary == strict.summary
    assert fast.quarantine.num_rows > 50
    assert fast.parquet()[0] == strict.parquet()[0]


def test_a_quarantined_row_keeps_the_text_exactly_as_sent():
    bad = ROW.replace(b"40.6413", b"99.5000")
    result = transform_parsed(parse_snapshot(body_of(ROW.replace(b"a1b2c3", b"b00001"), bad)), CONTEXT)

    assert result.quarantine.column("record").to_pylist() == [bad.decode()]


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b'"a1b2c3"', b'"a1\\u0062c3"', "an escape"),
        (b'"a1b2c3",', b'"a1b2c3" ,', "whitespace after a string"),
        (b'["a1b2c3"', b'[ "a1b2c3"', "whitespace before a string"),
        (b'"TST101  ",', b'"TST101  "x,', "junk after a string"),
        (b",null,11049.0", b",[1,2],11049.0", "sensors sent as a list"),
        (b",null,11049.0", b",5,11049.0", "sensors of the wrong type"),
        (b'"TST101  "', b"TST101", "an unquoted string"),
        (b"231.47", b'"231.47"', "a quoted number"),
        (b"1767225598", b"1767225598.0", "a float where an integer belongs"),
        (b"231.47", b"NaN", "NaN, which JSON has not"),
        (b"false,0]", b"false,0,3,4]", "19 columns"),
        (b"false,0]", b"false]", "16 columns"),
        (b"231.47", b"true", "a boolean where a number belongs"),
        (b",false,231.47", b",tru,231.47", "a boolean cut short"),
        (b",false,231.47", b",fals,231.47", "false cut short"),
        (b",false,231.47", b",t", "a body that ends inside a boolean"),
        (b",null,11049.0", b",nul,11049.0", "null cut short"),
        (b"231.47", b"+231.47", "a plus sign"),
        (b"false,0]", b"false,0] ", "whitespace between rows"),
        (b"false,0]", b"false,0 ]", "whitespace before a row's end"),
        (b"231.47", b"0231.47", "a leading zero"),
        (b"231.47", b".5", "no digit before the point"),
        (b"231.47", b"231.", "no digit after the point"),
        (b"231.47", b"2e", "no digit in the exponent"),
        (b"231.47", b"1e999", "a number beyond a float's range"),
        (b"false,0]", b"false,2147483648]", "an integer beyond its column's range"),
        (b"231.47", b"16777217", "an integer a float column does not take exactly"),
        (b"1767225598", b"12345678901234567890", "an integer beyond 18 digits"),
        (b'"United States"', b'"Bad \x01 byte"', "a control character in a string"),
        (b'"United States"', b'"Bad \xff byte"', "a byte that is not UTF-8"),
        (b'"United States"', b'"\xed\xa0\x80"', "a surrogate in UTF-8"),
        (b"false,0]", b"false,0]x", "junk between rows"),
        (b"-0.33", b"true", "a boolean where a float belongs"),
        (b"false,0]", b"false,2.7]", "a fraction where an integer belongs"),
        (b"false,0]", b"1,0]", "a number where a boolean belongs"),
    ],
)
def test_anything_but_the_flat_array_form_takes_the_strict_path(old, new, why):
    body = body_of(ROW.replace(old, new, 1), ROW.replace(b"a1b2c3", b"b00001"))

    assert new in body
    assert flat_arrays.read(body) is None, why
    try:
        parse_strict(body)
    except MalformedSnapshotError:
        with pytest.raises(MalformedSnapshotError):
            parse_snapshot(body)
    else:
        assert_same_reading(body)


def test_an_unquoted_string_balanced_by_a_quoted_number_is_not_json_and_is_refused():
    """The quote count alone balanced: two quotes too few at the callsign, two too many at
    the altitude. orjson refuses the document, so the flat-array reader must not answer."""
    bad = ROW.replace(b"a1b2c3", b"b00001").replace(b'"TST101  "', b"TST101").replace(b"10972.8", b'"10972.8"')
    body = body_of(ROW, bad)

    assert flat_arrays.read(body) is None
    with pytest.raises(MalformedSnapshotError):
        parse_snapshot(body)


# JSON values of every type, for each column: the wrong ones must be quarantined alike by both paths.
TYPE_CONFUSIONS = (b"true", b"false", b"null", b"0", b"2.7", b"-1e3", b'"7"', b'"x,y"', b"[1]", b"[true]")


def _fields(row: bytes) -> list[bytes]:
    return [orjson.dumps(value) for value in orjson.loads(row)]


def test_type_confusions_are_quarantined_alike_by_both_paths():
    """Every column of a row gets every JSON type in turn (seeded, two at a time too): both
    readers agree, and a value whose JSON type is wrong for its column is never valid."""
    rng = random.Random(20261128)
    fields = _fields(ROW)
    cases = [(i, v) for i in range(len(fields)) for v in TYPE_CONFUSIONS]
    cases += [tuple(rng.sample(cases, 2)) for _ in range(200)]  # type: ignore[misc]
    for case in cases:
        changes = dict([case] if isinstance(case[0], int) else case)
        mutated = list(fields)
        for index, value in changes.items():
            mutated[index] = value
        body = body_of(ROW.replace(b"a1b2c3", b"b00001"), b"[" + b",".join(mutated) + b"]")
        assert_same_reading(body)
        parsed = parse_snapshot(body)
        for index, value in changes.items():
            column = STATE_VECTOR[index]
            decoded = orjson.loads(value)
            if decoded is None or _json_fits(decoded, type_of(column)):
                continue
            assert f"wrong_type_{column.name}" in parsed.type_reasons.get(1, []), (column.name, value)


def _json_fits(value, arrow_type) -> bool:
    if pa.types.is_floating(arrow_type):
        return type(value) in (int, float)
    if pa.types.is_integer(arrow_type):
        return type(value) is int
    if pa.types.is_boolean(arrow_type):
        return type(value) is bool
    if pa.types.is_string(arrow_type):
        return type(value) is str
    return isinstance(value, list) and all(type(v) is int for v in value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"time":1767225600,"states":null}',
        b'{"time":1767225600,"states":[]}',
        b'{"states":[%s],"time":1767225600}' % ROW,
        b'{"time": 1767225600, "states": [%s]}' % ROW,
        b'{\n"time":1767225600,"states":[%s]}' % ROW,
        body_of(ROW, b'["short","row"]'),
        body_of(ROW, ROW[:-1] + b",3]"),  # 17 and 18 columns mixed
    ],
)
def test_other_documents_are_read_by_the_strict_path_alone(body):
    assert flat_arrays.read(body) is None
    assert_same_reading(body)


@pytest.mark.parametrize("body", [body_of(ROW)[:-1], body_of(ROW)[:60], b'{"time":1767225600,"states":[[}'])
def test_a_truncated_body_is_refused_by_both_paths(body):
    assert flat_arrays.read(body) is None
    with pytest.raises(MalformedSnapshotError):
        parse_snapshot(body)


@pytest.mark.parametrize("spelling", [b"0231.47", b".5", b"231.", b"-", b"1.e5", b"--1", b"0x10"])
def test_number_spellings_json_refuses_are_refused(spelling):
    body = body_of(ROW, ROW.replace(b"a1b2c3", b"b00001").replace(b"231.47", spelling))

    assert flat_arrays.read(body) is None
    with pytest.raises(MalformedSnapshotError):
        parse_snapshot(body)


def test_numbers_read_as_a_json_parser_reads_them_then_stored_as_the_column_type():
    """Seeded spellings of every kind: short and long decimals, exponents either side of the
    exact range, subnormals, integers in float columns, negative zero. Both paths give the
    same float32 bits (a double rounded once by the parser, then cast)."""
    rng = random.Random(20261207)
    spellings = [b"0", b"-0", b"-0.0", b"1e2", b"1E+2", b"1e-2", b"4.35e-05", b"16777216", b"-16777216", b"1e22"]
    spellings += [b"1e23", b"123456789012345678901.5", b"0.1000000000000000055511151231257827", b"4.9e-324"]
    spellings += [b"3.4028235e38", b"16777217.0", b"0.0000000000000000000000000001"]
    for _ in range(400):
        value = rng.choice([rng.uniform(-1, 1), rng.uniform(-1e4, 1e4), min(rng.lognormvariate(0, 20), 1e38)])
        spellings.append(repr(value).encode())
        spellings.append(b"%.*e" % (rng.randrange(1, 20), value))
        spellings.append(b"%.*f" % (rng.randrange(1, 12), value))
    rows = [ROW.replace(b"a1b2c3", b"%06x" % i).replace(b"231.47", s) for i, s in enumerate(spellings)]
    body = body_of(*rows)

    assert flat_arrays.read(body) is not None
    fast, strict = parse_snapshot(body), parse_strict(body)
    assert fast.table["velocity"].to_numpy().tobytes() == strict.table["velocity"].to_numpy().tobytes()


def test_values_that_need_care_read_alike():
    rows = [
        ROW.replace(b'"TST101  "', b'"        "'),  # a blank callsign
        ROW.replace(b'"TST101  "', b'""').replace(b"b2c3", b"b2c4"),
        ROW.replace(b'"United States"', b'"Korea, Republic of"').replace(b"b2c3", b"b2c5"),
        ROW.replace(b'"United States"', b'"C\xc3\xb4te d\'Ivoire"').replace(b"b2c3", b"b2c6"),
        ROW.replace(b"231.47", b"1e2").replace(b"-0.33", b"-0").replace(b"b2c3", b"b2c7"),
        ROW.replace(b"10972.8", b"10972").replace(b"b2c3", b"b2c8"),  # an integer-valued float
        ROW.replace(b'"TST101  "', b'"T[S]T"').replace(b"b2c3", b"b2cb"),  # brackets inside a string
        ROW.replace(b'"1200"', b"null").replace(b"-73.7781", b"null").replace(b"b2c3", b"b2c9"),
    ]
    body = body_of(*rows)

    assert flat_arrays.read(body) is not None
    assert_same_reading(body)


def test_whenever_the_flat_array_reader_answers_the_strict_parser_agrees():
    """Seeded mutations of a two-row body (JSON-significant bytes replaced, inserted or
    deleted): the flat-array reader either steps aside or reads exactly what orjson reads."""
    rng = random.Random(20261127)
    base = body_of(ROW, ROW.replace(b"a1b2c3", b"b00001"))
    alphabet = b'"[],: \\0123456789.eE-+tfalsenu{}x'
    answered = 0
    for _ in range(3_000):
        body = bytearray(base)
        for _ in range(rng.choice((1, 1, 2))):
            at, byte = rng.randrange(len(body)), alphabet[rng.randrange(len(alphabet))]
            kind = rng.random()
            if kind < 0.4:
                body[at] = byte
            elif kind < 0.7:
                body.insert(at, byte)
            else:
                del body[at]
        fast = flat_arrays.read(bytes(body))
        if fast is None:
            continue
        answered += 1
        strict = parse_strict(bytes(body))  # raises if the reader took what JSON refuses
        assert fast.table.equals(strict.table), bytes(body)
        assert not strict.type_reasons, bytes(body)
    assert answered > 500  # the mutations do exercise the flat-array reader


# Run in a fresh interpreter, with the C reader built with the undefined-behaviour sanitizer
# in trap mode: any undefined behaviour kills the process (SIGILL), where the optimised
# build may carry on with whatever the compiler made of it.
SANITIZED_RUN = """
import random, sys
from pathlib import Path
from flightdata.etl import flat_arrays
flat_arrays.library_path = lambda machine: Path(sys.argv[1])
assert flat_arrays.available()
rng = random.Random(20261207)
alphabet = b'"[],: \\\\0123456789.eE-+tfalsenu{}x\\xc3\\xa9\\xff\\x00'
answered = 0
for body in sys.stdin.buffer.read().split(b"\\n"):
    for _ in range(1_500):
        mutated = bytearray(body)
        for _ in range(rng.choice((1, 2, 3))):
            at = rng.randrange(len(mutated))
            if rng.random() < 0.5:
                mutated[at] = alphabet[rng.randrange(len(alphabet))]
            else:
                del mutated[at : at + rng.randrange(1, 4)]
        answered += flat_arrays.read(bytes(mutated)) is not None
print(answered)
"""


def test_the_c_reader_has_no_undefined_behaviour_on_mutated_bodies(tmp_path):
    """A value cut short (``tru``) once read through a null pointer: harmless in the optimised
    build, which the compiler had rearranged, but undefined, and a crash in the sanitised one."""
    from flightdata_cdk import native

    library = native.build(native.host_platform(), tmp_path, native.SANITIZED)
    bodies = [
        body_of(ROW, ROW.replace(b"a1b2c3", b"b00001")),
        body_of(*[ROW.replace(b"a1b2c3", b"b%05d" % i) for i in range(9)]),
        simulated(7, extended=True, aircraft=60),
    ]
    run = subprocess.run(
        [sys.executable, "-c", SANITIZED_RUN, str(library)],
        input=b"\n".join(bodies),
        capture_output=True,
        check=False,
    )

    assert run.returncode == 0, f"exit {run.returncode} (-4 is SIGILL: the sanitizer trapped) {run.stderr[-2000:]!r}"
    assert int(run.stdout) > 500  # the mutations do reach the reader's every branch, often enough
