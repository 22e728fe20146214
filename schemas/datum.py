"""Records to Avro datums (plain dicts) and back, by the records' type hints.

The plan for each record type is worked out once and cached, so the hot path is a loop over
the fields that calls a converter only for the fields that need one (enums, nested records,
optional and repeated values of those); strings, numbers and times pass as they are.
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, NamedTuple, TypeVar

R = TypeVar("R")
Convert = Callable[[Any], Any]


def to_datum(record: object) -> dict[str, Any]:
    """The Avro datum of a record: enums as symbols, nested records as dicts."""
    return {
        name: getattr(record, name) if encode is None else encode(getattr(record, name))
        for name, encode, _, _ in _plan(type(record))
    }


def to_writer_datum(record: object) -> dict[str, Any]:
    """``to_datum`` for fastavro's writer: a record in a union is ``(its full name, datum)``.

    That is fastavro's tuple notation for a union's branch. Without it, the writer finds the
    branch of an optional record by validating the record against each branch in turn,
    which costs more than writing it; the bytes written are the same.
    """
    return {
        name: getattr(record, name) if write is None else write(getattr(record, name))
        for name, _, _, write in _plan(type(record))
    }


def from_datum(record_type: type[R], datum: Mapping[str, Any]) -> R:
    """The record of ``record_type`` that ``datum`` (as an Avro reader returns it) holds."""
    return record_type(
        **{
            name: datum[name] if decode is None else decode(datum[name])
            for name, _, decode, _ in _plan(record_type)
        }
    )


class _Field(NamedTuple):
    """How one field converts: None where the value is its own datum."""

    name: str
    encode: Convert | None
    decode: Convert | None
    #: ``encode`` for ``to_writer_datum``.
    write: Convert | None


_Plan = tuple[_Field, ...]
_PLANS: dict[type, _Plan] = {}


def _plan(record_type: type) -> _Plan:
    """Each field's name and converters; worked out on first use of a type."""
    plan = _PLANS.get(record_type)
    if plan is None:
        hints = typing.get_type_hints(record_type)
        plan = tuple(
            _Field(field.name, *_converters(hints[field.name]))
            for field in dataclasses.fields(record_type)
        )
        _PLANS[record_type] = plan
    return plan


def _converters(hint: Any) -> tuple[Convert | None, Convert | None, Convert | None]:
    """How to encode, decode and write a value of type ``hint``; None for "as it is"."""
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        encode, decode, write = _converters(inner)
        if dataclasses.is_dataclass(inner):
            full_name: str = inner.AVRO_NAME  # type: ignore[union-attr]  # on every record type
            write = _named(full_name, to_writer_datum)
        return _optional(encode), _optional(decode), _optional(write)
    if origin in (tuple, list):
        encode, decode, write = _converters(arguments[0])
        return _each(encode, list), _each(decode, origin), _each(write, list)
    if isinstance(hint, type) and issubclass(hint, Enum):
        symbol = operator.attrgetter("value")
        return symbol, _enum_decoder(hint), symbol
    if dataclasses.is_dataclass(hint):
        record_type: type = hint  # type: ignore[assignment]  # narrowed to a dataclass type
        return to_datum, lambda datum: from_datum(record_type, datum), to_writer_datum
    return None, None, None


def _optional(convert: Convert | None) -> Convert | None:
    """``convert`` for a value that may be None (None too if nothing needs converting)."""
    if convert is None:
        return None
    return lambda value: None if value is None else convert(value)


def _each(convert: Convert | None, collection: Callable[[Any], Any]) -> Convert:
    """``convert`` applied to every item of a sequence, collected with ``collection``."""
    if convert is None:
        return collection
    return lambda values: collection([convert(value) for value in values])


def _named(full_name: str, convert: Convert) -> Convert:
    """``convert``, tagged with the Avro full name of the union branch it writes."""
    return lambda value: (full_name, convert(value))


def _enum_decoder(enum_type: type[Enum]) -> Convert:
    """``enum_type(symbol)``, by a dict lookup for the symbols of the enum.

    Calling an enum class runs two Python-level functions before its own lookup, on every
    enum field of every record read; anything the dict does not hold (an unknown symbol)
    still goes through the call, so it raises exactly as before.
    """
    members = {member.value: member for member in enum_type}

    def decode(symbol: Any) -> Enum:
        try:
            return members[symbol]
        except (KeyError, TypeError):  # TypeError: an unhashable value
            return enum_type(symbol)

    return decode
