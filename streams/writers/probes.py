"""Probe records made from a record schema: every symbol, branch and length class.

A compiled writer is checked against the codec on these before it writes anything
(``streams.writers.checked``). They are made from the parsed schema alone, so that a field
added to a ``.avsc`` is probed with the rest: every enum symbol, both branches of every
optional field, arrays of none, one, a few and more items than one varint byte counts,
texts of every length class and non-ASCII ones, times either side of the epoch, in another
offset and at Python's limits. Field values are rotated across the probes, so that each
record mixes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Final

import avro.schema

from streams.writers.compiler import TypeMap
from streams.writers.exceptions import UnsupportedSchemaError

#: Texts of every length class: empty, one varint byte, two, three; non-ASCII.
_TEXTS: Final = ("", "x", "é€😀", "a" * 63, "b" * 64, "c" * 200, "d" * 20000)
_LONGS: Final = (0, 1, -1, 63, -64, 64, -65, 8192, 1 << 31, (1 << 63) - 1, -(1 << 63))
_INTS: Final = (0, 1, -1, 63, -64, 64, -65, 8192, (1 << 31) - 1, -(1 << 31))
_FLOATS: Final = (0.0, -0.0, 1.5, -2.25, float("inf"))
_DOUBLES: Final = (*_FLOATS, 1e300)
_BYTES: Final = (b"", b"\x00", bytes(range(256)))
#: Times either side of the epoch, in another offset, and at Python's limits.
_TIMES: Final = (
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC),
    datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
    datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=timezone(timedelta(hours=-7))),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
#: Item counts of the arrays probed: 64 and 130 need a two-byte count.
_COUNTS: Final = (0, 1, 2, 3, 64, 130)


def probe_records(schema: avro.schema.RecordSchema, types: TypeMap) -> list[Any]:
    """Records of ``schema`` (of their Python types in ``types``) covering each value class."""
    return list(_Probes(types).values(schema))


class _Probes:
    """The probe values of each schema; a named record's made once."""

    def __init__(self, types: TypeMap) -> None:
        self._types = types
        self._records: dict[str, tuple[Any, ...]] = {}

    def values(self, schema: avro.schema.Schema) -> tuple[Any, ...]:
        """Values of ``schema``, one of each class at least."""
        if isinstance(schema, avro.schema.RecordSchema):
            found = self._records.get(schema.fullname)
            if found is None:
                found = self._records[schema.fullname] = tuple(self._record(schema))
            return found
        if isinstance(schema, avro.schema.EnumSchema):
            enum_type = self._types.get(schema.fullname)
            if enum_type is None or not issubclass(enum_type, Enum):
                raise UnsupportedSchemaError(f"the enum {schema.fullname} has no Python type")
            members = {member.value: member for member in enum_type}
            return tuple(members[symbol] for symbol in schema.symbols if symbol in members)
        if isinstance(schema, avro.schema.UnionSchema):
            return tuple(value for branch in schema.schemas for value in self.values(branch))
        if isinstance(schema, avro.schema.ArraySchema):
            items = self.values(schema.items)
            return tuple(
                tuple(items[(count + n) % len(items)] for n in range(count)) for count in _COUNTS
            )
        if schema.get_prop("logicalType") in ("timestamp-millis", "timestamp-micros"):
            return _TIMES
        found = _PRIMITIVES.get(schema.type)
        if found is None:
            raise UnsupportedSchemaError(f"the type {schema.type}")
        return found

    def _record(self, schema: avro.schema.RecordSchema) -> Iterator[Any]:
        record_type = self._types.get(schema.fullname)
        if record_type is None:
            raise UnsupportedSchemaError(f"the record {schema.fullname} has no Python type")
        present = {field.name for field in dataclasses.fields(record_type)}
        fields = [
            (field.name, self.values(field.type))
            for field in schema.fields
            if field.name in present
        ]
        rounds = 2 * max((len(values) for _, values in fields), default=1)
        for n in range(rounds):
            yield record_type(
                **{
                    name: values[(n + index) % len(values)]
                    for index, (name, values) in enumerate(fields)
                }
            )


_PRIMITIVES: Final[dict[str, tuple[Any, ...]]] = {
    "null": (None,),
    "boolean": (False, True),
    "int": _INTS,
    "long": _LONGS,
    "float": _FLOATS,
    "double": _DOUBLES,
    "bytes": _BYTES,
    "string": _TEXTS,
}
