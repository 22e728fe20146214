"""Writers compiled from a schema write fastavro's bytes, follow the schema, refuse what they
do not expect, and say which schemas they cannot write."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import avro.schema
import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.writers.compiler import RecordCompiler
from streams.writers.exceptions import UnsupportedSchemaError
from tests.strategies import INT32, INT64, texts


class Colour(StrEnum):
    """Python's order differs from the schema's: the schema's index is written."""

    RED = "RED"
    GREEN = "GREEN"
    BLUE = "BLUE"


@dataclass(frozen=True, slots=True, kw_only=True)
class Inner:
    colour: Colour
    label: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outer:
    flag: bool
    small: int
    big: int
    ratio: float
    precise: float
    blob: bytes
    name: str
    maybe: str | None
    reversed_maybe: str | None
    colour: Colour
    inner: Inner
    maybe_inner: Inner | None
    inners: tuple[Inner, ...] = field(default_factory=tuple)
    names: tuple[str, ...] = ()
    millis: datetime
    micros: datetime | None = None


NAMESPACE = "test.compiler"
COLOUR = {"type": "enum", "name": "Colour", "symbols": ["BLUE", "RED", "GREEN"]}
INNER: dict[str, Any] = {
    "type": "record",
    "name": "Inner",
    "fields": [
        {"name": "colour", "type": COLOUR},
        {"name": "label", "type": ["null", "string"], "default": None},
    ],
}
OUTER: dict[str, Any] = {
    "type": "record",
    "name": "Outer",
    "namespace": NAMESPACE,
    "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "small", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "ratio", "type": "float"},
        {"name": "precise", "type": "double"},
        {"name": "blob", "type": "bytes"},
        {"name": "name", "type": "string"},
        {"name": "maybe", "type": ["null", "string"]},
        {"name": "reversed_maybe", "type": ["string", "null"]},
        {"name": "inner", "type": INNER},
        {"name": "colour", "type": "Colour"},
        {"name": "maybe_inner", "type": ["null", "Inner"]},
        {"name": "inners", "type": {"type": "array", "items": "Inner"}},
        {"name": "names", "type": {"type": "array", "items": "string"}},
        {"name": "millis", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "micros", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
    ],
}
TYPES = {f"{NAMESPACE}.Outer": Outer, f"{NAMESPACE}.Inner": Inner, f"{NAMESPACE}.Colour": Colour}

aware_times = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - bounds are naive; timezones= makes aware
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC) | st.just(timezone(timedelta(hours=-7))),
)
inners = st.builds(Inner, colour=st.sampled_from(Colour), label=st.none() | texts)
outers = st.builds(
    Outer,
    flag=st.booleans(),
    small=INT32,
    big=INT64,
    ratio=st.floats(width=32, allow_nan=False),
    precise=st.floats(allow_nan=False),
    blob=st.binary(max_size=300),
    name=texts,
    maybe=st.none() | texts,
    reversed_maybe=st.none() | texts,
    colour=st.sampled_from(Colour),
    inner=inners,
    maybe_inner=st.none() | inners,
    inners=st.lists(inners, max_size=70).map(tuple),
    names=st.lists(texts, max_size=3).map(tuple),
    millis=aware_times,
    micros=st.none() | aware_times,
)


def parse(document: dict[str, Any]) -> avro.schema.RecordSchema:
    schema = avro.schema.parse(json.dumps(document))
    assert isinstance(schema, avro.schema.RecordSchema)
    return schema


def fastavro_body(document: dict[str, Any], datum: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(document), datum)
    return buffer.getvalue()


def datum(value: Any) -> Any:
    """fastavro's datum of a test record: enums as symbols, records as dicts."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Inner | Outer):
        return {name: datum(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple):
        return [datum(item) for item in value]
    return value


WRITE = RecordCompiler(TYPES).record(parse(OUTER))
NOW = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
BASE = Outer(
    flag=True,
    small=-5,
    big=2**40,
    ratio=0.5,
    precise=-1.25,
    blob=b"\x00\x01",
    name="n",
    maybe=None,
    reversed_maybe="r",
    colour=Colour.GREEN,
    inner=Inner(colour=Colour.BLUE, label="l"),
    maybe_inner=None,
    inners=(Inner(colour=Colour.RED),),
    names=("a", "b"),
    millis=NOW,
)


@given(value=outers)
def test_it_writes_fastavros_bytes(value: Outer) -> None:
    assert WRITE(value) == fastavro_body(OUTER, datum(value))


def test_an_enum_is_written_by_its_index_in_the_schema() -> None:
    compiled = RecordCompiler(TYPES).record(parse({**INNER, "namespace": NAMESPACE}))
    assert compiled(Inner(colour=Colour.BLUE)) == b"\x00\x00"
    assert compiled(Inner(colour=Colour.RED, label="x")) == b"\x02\x02\x02x"


def test_reordered_fields_are_written_in_the_schemas_order() -> None:
    # Reversed, but for the field that defines the named types the others use.
    (defining,) = [field for field in OUTER["fields"] if field["name"] == "inner"]
    reordered = [defining] + [field for field in OUTER["fields"][::-1] if field is not defining]
    document = {**OUTER, "fields": reordered}
    value = BASE
    compiled = RecordCompiler(TYPES).record(parse(document))
    assert compiled(value) == fastavro_body(document, datum(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Older:
    """A record type that lacks the schema's newer fields."""

    colour: Colour


def test_fields_the_type_lacks_are_written_as_fastavro_writes_them() -> None:
    document = {
        "type": "record",
        "name": "Older",
        "namespace": NAMESPACE,
        "fields": [
            {"name": "count", "type": "long", "default": 7},
            {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED"]}},
            {"name": "note", "type": ["null", "string"]},
            {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["a"]},
        ],
    }
    compiled = RecordCompiler({f"{NAMESPACE}.Older": Older, **TYPES}).record(parse(document))
    assert compiled(Older(colour=Colour.RED)) == fastavro_body(document, {"colour": "RED"})


def test_a_field_the_type_lacks_without_default_cannot_be_written() -> None:
    document = {
        "type": "record",
        "name": "Older",
        "namespace": NAMESPACE,
        "fields": [{"name": "count", "type": "long"}],
    }
    with pytest.raises(UnsupportedSchemaError, match="has no default"):
        RecordCompiler({f"{NAMESPACE}.Older": Older}).record(parse(document))


def test_a_record_of_no_named_type_is_read_by_attribute_and_fields() -> None:
    document = {
        "type": "record",
        "name": "Pair",
        "namespace": NAMESPACE,
        "fields": [{"name": "key", "type": "string"}, {"name": "count", "type": "long"}],
    }
    by_attribute = RecordCompiler({}).record(parse(document))
    by_item = RecordCompiler(
        {}, fields={f"{NAMESPACE}.Pair": {"key": lambda pair: pair[0], "count": len}}
    ).record(parse(document))

    expected = fastavro_body(document, {"key": "k", "count": 2})
    assert by_attribute(Pair(key="k", count=2)) == expected
    assert by_item(("k", "xy")) == expected


@dataclass(frozen=True)
class Pair:
    key: str
    count: int


@dataclass(frozen=True)
class Holder:
    x: Any


@pytest.mark.parametrize(
    "field_type",
    [
        pytest.param(["null", "string", "long"], id="union-of-three"),
        pytest.param(["string", "long"], id="union-without-null"),
        pytest.param({"type": "map", "values": "long"}, id="map"),
        pytest.param({"type": "fixed", "name": "F", "size": 4}, id="fixed"),
        pytest.param({"type": "int", "logicalType": "date"}, id="date"),
        pytest.param({"type": "enum", "name": "Unknown", "symbols": ["A"]}, id="enum-without-type"),
    ],
)
def test_what_it_does_not_write_is_said_at_compile_time(field_type: Any) -> None:
    document = {"type": "record", "name": "R", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(UnsupportedSchemaError):
        RecordCompiler({"R": Holder}).record(parse(document))


class Text(str):
    """A str subclass: not exactly text."""


NAIVE = datetime(2026, 3, 4, 5, 6, 7)  # noqa: DTZ001 - the point


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"name": Text("x")}, id="str-subclass"),
        pytest.param({"colour": "RED"}, id="text-for-enum"),
        pytest.param({"flag": 1}, id="int-for-bool"),
        pytest.param({"big": True}, id="bool-for-long"),
        pytest.param({"small": 2**31}, id="int-past-32-bits"),
        pytest.param({"precise": 1}, id="int-for-double"),
        pytest.param({"blob": bytearray(b"x")}, id="bytearray-for-bytes"),
        pytest.param({"millis": NAIVE}, id="naive-time"),
        pytest.param({"names": ["a", 1]}, id="number-in-array"),
        pytest.param({"names": "ab"}, id="text-for-array"),
        pytest.param({"inner": Older(colour=Colour.RED)}, id="other-record-type"),
    ],
)
def test_a_value_of_another_type_raises_type_error(odd: dict[str, Any]) -> None:
    value = replace(BASE, **odd)
    with pytest.raises(TypeError):
        WRITE(value)


def test_a_kept_record_is_not_found_by_an_equal_one_of_other_types() -> None:
    compiled = RecordCompiler(TYPES).record(parse({**INNER, "namespace": NAMESPACE}))
    kept = Inner(colour=Colour.RED, label="x")
    equal = Inner(colour="RED", label="x")  # type: ignore[arg-type]  # the point
    assert kept == equal
    assert compiled(kept) == compiled(Inner(colour=Colour.RED, label="x"))
    with pytest.raises(TypeError):
        compiled(equal)


def test_kept_times_follow_identity_and_value() -> None:
    moment = NOW
    elsewhere = moment.astimezone(timezone(timedelta(hours=-7)))
    for value in (moment, elsewhere, moment, moment + timedelta(milliseconds=1)):
        one = replace(BASE, millis=value)
        assert WRITE(one) == fastavro_body(OUTER, datum(one))


@dataclass(frozen=True)
class Node:
    next: Node | None


def test_a_record_that_holds_itself_is_not_compiled() -> None:
    document = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "next", "type": ["null", "Node"]}],
    }
    with pytest.raises(UnsupportedSchemaError, match="holds itself"):
        RecordCompiler({"Node": Node}).record(parse(document))
