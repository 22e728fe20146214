"""Records to datums and back: the cached plans give what a plain walk of the fields gives."""

from __future__ import annotations

import dataclasses
import io
from enum import Enum
from functools import cache
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.datum import _enum_decoder, from_datum, to_datum, to_writer_datum
from schemas.loader import load_schemas
from schemas.records import Message
from schemas.values import ENUM_TYPES
from tests.strategies import messages


def _walked(value: Any) -> Any:
    """The datum of ``value`` the slow way: every field, every item, looked at."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _walked(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_walked(item) for item in value]
    return value


@given(record=messages)
def test_a_datum_is_the_walk_of_the_record(record: Message) -> None:
    datum = to_datum(record)

    assert datum == _walked(record)
    assert from_datum(type(record), datum) == record


@cache
def _schema(full_name: str) -> Any:
    return fastavro.parse_schema(load_schemas().expanded_json(full_name))


def _written(record: Message, datum: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _schema(record.AVRO_NAME), datum)
    return buffer.getvalue()


@given(record=messages)
def test_naming_union_branches_writes_the_same_bytes(record: Message) -> None:
    assert _written(record, to_writer_datum(record)) == _written(record, to_datum(record))


@pytest.mark.parametrize("enum_type", list(ENUM_TYPES.values()), ids=lambda enum: enum.__name__)
def test_the_enum_lookup_is_the_enums_own(enum_type: type[Enum]) -> None:
    decode = _enum_decoder(enum_type)

    for member in enum_type:
        assert decode(member.value) is enum_type(member.value)
        assert decode(member) is member


def _outcome(convert: Any, symbol: Any) -> Any:
    try:
        return convert(symbol)
    except ValueError as error:
        return f"ValueError: {error}"


@given(symbol=st.text() | st.integers() | st.lists(st.text()) | st.sampled_from(["CELL", "SELF"]))
def test_any_symbol_decodes_or_raises_as_the_enum_does(symbol: Any) -> None:
    for enum_type in ENUM_TYPES.values():
        assert _outcome(_enum_decoder(enum_type), symbol) == _outcome(enum_type, symbol)
