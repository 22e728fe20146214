"""Records to Avro datums (plain dicts) and back, by the records' type hints.

The plan for each record type is worked out once and cached, so the hot path is a loop of
plain function calls over the fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

R = TypeVar("R")
Convert = Callable[[Any], Any]


def to_datum(record: object) -> dict[str, Any]:
    """The Avro datum of a record: enums as symbols, nested records as dicts."""
    return {name: encode(getattr(record, name)) for name, encode, _ in _plan(type(record))}


def from_datum(record_type: type[R], datum: Mapping[str, Any]) -> R:
    """The record of ``record_type`` that ``datum`` (as an Avro reader returns it) holds."""
    return record_type(**{name: decode(datum[name]) for name, _, decode in _plan(record_type)})


_Plan = tuple[tuple[str, Convert, Convert], ...]
_PLANS: dict[type, _Plan] = {}


def _plan(record_type: type) -> _Plan:
    """Each field's name, encoder and decoder; worked out on first use of a type."""
    plan = _PLANS.get(record_type)
    if plan is None:
        hints = typing.get_type_hints(record_type)
        plan = tuple(
            (field.name, *_converters(hints[field.name]))
            for field in dataclasses.fields(record_type)
        )
        _PLANS[record_type] = plan
    return plan


def _identity(value: Any) -> Any:
    return value


def _converters(hint: Any) -> tuple[Convert, Convert]:
    """How to encode and decode a value of type ``hint``."""
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        encode, decode = _converters(inner)
        return (
            lambda value: None if value is None else encode(value),
            lambda value: None if value is None else decode(value),
        )
    if origin in (tuple, list):
        encode, decode = _converters(arguments[0])
        return (
            lambda values: [encode(value) for value in values],
            lambda values: origin(decode(value) for value in values),
        )
    if isinstance(hint, type) and issubclass(hint, Enum):
        return (lambda value: value.value), hint
    if dataclasses.is_dataclass(hint):
        record_type: type = hint  # type: ignore[assignment]  # narrowed to a dataclass type
        return to_datum, lambda datum: from_datum(record_type, datum)
    return _identity, _identity
