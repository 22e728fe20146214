"""Avro binary writers compiled from a parsed record schema: its fields, types and defaults.

``RecordCompiler.record`` walks a record schema (an ``avro.schema.RecordSchema``, as
``schemas.loader`` parses the ``.avsc`` files) once and returns a function that writes a
record's body: a tuple of per-field encoders, built from each field's type (string, long,
enum, union with null, array, nested record, timestamp...), applied in the schema's field
order. Adding or reordering a field in a ``.avsc`` changes the writer with it.

A record of a type named in the compiler's ``types`` is checked to be exactly of that type,
and a field that type lacks is written as the schema's default (as fastavro writes a datum
without it). A record whose type is not named is read by attribute, whatever its type (the
worker's internal values, whose Python types live above this package). ``fields`` says how
to read a field that is not the attribute of its name (a set written sorted, say).

Every encoder checks the exact type of its value (a plain string is no enum member, a ``str``
subclass no string) and raises ``TypeError`` otherwise, so that a caller can leave such a
record to the codec, which writes or refuses it as it always does. A schema with a type the
compiler does not write (a union of two non-null branches, a map, a fixed, a logical type
other than the timestamps) raises ``UnsupportedSchemaError`` when it is compiled.

What repeats is written once and kept: each timestamp field keeps the times it wrote (every
record of one raw record holds the same ``now``), and a small immutable record (a privilege,
a cause: only strings, numbers and enums) is kept by identity and by value.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from operator import attrgetter, call
from typing import Any, Final

import avro.schema
import fastavro
from fastavro.write import LOGICAL_WRITERS

from streams.writers.avro_parts import CACHE_LIMIT, count_bytes, keep, long_bytes, text
from streams.writers.exceptions import UnsupportedSchemaError

#: Writes one value's Avro binary encoding; ``TypeError`` for a value it does not expect.
Encode = Callable[[Any], bytes]
#: The Python type of named Avro types (records and enums), by full name.
TypeMap = Mapping[str, type]
#: For a record's full name, how to read those of its fields that are not attributes.
FieldMap = Mapping[str, Mapping[str, Callable[[Any], Any]]]

#: An Avro array ends with a block of no items.
_END_OF_BLOCKS: Final = b"\x00"
_INT_RANGE: Final = range(-(1 << 31), 1 << 31)
#: fastavro's own conversions of a datetime to a timestamp long.
_TIMESTAMPS: Final = {
    "timestamp-millis": LOGICAL_WRITERS["long-timestamp-millis"],
    "timestamp-micros": LOGICAL_WRITERS["long-timestamp-micros"],
}
#: Types whose equal values of one exact type have one encoding (not floats: 0.0 == -0.0).
_KEEPABLE: Final = frozenset({"null", "boolean", "int", "long", "bytes", "string", "enum"})


class RecordCompiler:
    """Compiles record schemas to body writers; one encoder per named record, shared."""

    def __init__(self, types: TypeMap, *, fields: FieldMap | None = None) -> None:
        self._types = types
        self._fields = fields or {}
        self._records: dict[str, Encode] = {}
        self._compiling: set[str] = set()

    def record(self, schema: avro.schema.RecordSchema) -> Encode:
        """The writer of ``schema``'s records: their fields' encodings, in the schema's order."""
        name = schema.fullname
        found = self._records.get(name)
        if found is None:
            if name in self._compiling:
                raise UnsupportedSchemaError(f"the record {name}, which holds itself")
            self._compiling.add(name)
            try:
                found = self._records[name] = self._record(schema)
            finally:
                self._compiling.discard(name)
        return found

    def encoder(self, schema: avro.schema.Schema) -> Encode:
        """The encoder of a value of ``schema``."""
        if isinstance(schema, avro.schema.RecordSchema):
            return self.record(schema)
        if isinstance(schema, avro.schema.EnumSchema):
            return self._enum(schema)
        if isinstance(schema, avro.schema.UnionSchema):
            return self._union(schema)
        if isinstance(schema, avro.schema.ArraySchema):
            return _array(self.encoder(schema.items))
        logical = schema.get_prop("logicalType")
        if logical is not None:
            convert = _TIMESTAMPS.get(str(logical))
            if convert is None or schema.type != "long":
                raise UnsupportedSchemaError(f"the logical type {logical}")
            return _timestamp(convert)
        primitive = _PRIMITIVES.get(schema.type)
        if primitive is None:
            raise UnsupportedSchemaError(f"the type {schema.type}")
        return primitive

    def _record(self, schema: avro.schema.RecordSchema) -> Encode:
        name = schema.fullname
        record_type = self._types.get(name)
        overrides = self._fields.get(name, {})
        present = None if record_type is None else _attributes(record_type)
        getters: list[Callable[[Any], Any]] = []
        encoders: list[Encode] = []
        for field in schema.fields:
            if field.name in overrides:
                getters.append(overrides[field.name])
                encoders.append(self.encoder(field.type))
            elif present is None or field.name in present:
                getters.append(attrgetter(field.name))
                encoders.append(self.encoder(field.type))
            else:
                getters.append(_nothing)
                encoders.append(_constant(_absent(name, field)))
        names = [field.name for field in schema.fields]
        plain = not overrides and (present is None or present.issuperset(names))
        read = _reader(names, getters, plain=plain)
        fields = tuple(encoders)

        if record_type is None:

            def any_record(value: Any) -> bytes:
                return b"".join(map(call, fields, read(value)))

            return any_record

        def record(value: Any) -> bytes:
            if type(value) is not record_type:
                raise TypeError("not the record's type")
            return b"".join(map(call, fields, read(value)))

        if not overrides and _keepable(schema, record_type):
            return _kept(record_type, record, read)
        return record

    def _enum(self, schema: avro.schema.EnumSchema) -> Encode:
        enum_type = self._types.get(schema.fullname)
        if enum_type is None or not issubclass(enum_type, Enum):
            raise UnsupportedSchemaError(f"the enum {schema.fullname}, which has no Python type")
        by_symbol = {member.value: member for member in enum_type}
        # A symbol the Python type lacks is never written; a member the schema lacks raises.
        indices = {
            by_symbol[symbol]: long_bytes(index)
            for index, symbol in enumerate(schema.symbols)
            if symbol in by_symbol
        }

        def enum(value: Any) -> bytes:
            # Checked first: a plain string equal to a symbol must not find its index.
            if type(value) is not enum_type:
                raise TypeError("not a member of the enum")
            return indices[value]

        return enum

    def _union(self, schema: avro.schema.UnionSchema) -> Encode:
        branches = [branch.type for branch in schema.schemas]
        if len(branches) != 2 or "null" not in branches:
            raise UnsupportedSchemaError("a union other than null and one other type")
        null_index = branches.index("null")
        null, other = long_bytes(null_index), long_bytes(1 - null_index)
        encode = self.encoder(schema.schemas[1 - null_index])
        if encode is text:  # the commonest union, one call the shorter

            def optional_text(value: Any) -> bytes:
                return null if value is None else other + text(value)

            return optional_text

        def optional(value: Any) -> bytes:
            return null if value is None else other + encode(value)

        return optional


def _attributes(record_type: type) -> frozenset[str]:
    """The attributes a record of ``record_type`` holds."""
    if dataclasses.is_dataclass(record_type):
        return frozenset(field.name for field in dataclasses.fields(record_type))
    return frozenset(name for name in dir(record_type) if not name.startswith("_"))


def _reader(
    names: list[str], getters: list[Callable[[Any], Any]], *, plain: bool
) -> Callable[[Any], tuple[Any, ...]]:
    """The values of a record's fields, as a tuple: one C call when each is the attribute
    of its name (``plain``)."""
    if plain and len(names) > 1:
        # attrgetter of several names returns a tuple (of one name, the value alone).
        return attrgetter(*names)
    return lambda value: tuple([get(value) for get in getters])


def _nothing(_: Any) -> None:
    return None


def _constant(written: bytes) -> Encode:
    return lambda _: written


def _absent(record_name: str, field: avro.schema.Field) -> bytes:
    """What fastavro writes for a field the datum lacks: its default, or else null."""
    if field.has_default:
        default = field.default
    elif isinstance(field.type, avro.schema.UnionSchema) and any(
        branch.type == "null" for branch in field.type.schemas
    ):
        default = None
    else:
        raise UnsupportedSchemaError(
            f"{record_name}.{field.name}, which its Python type lacks, has no default"
        )
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(field.type.to_json()), default)
    return buffer.getvalue()


def _keepable(schema: avro.schema.RecordSchema, record_type: type) -> bool:
    """Whether records of ``record_type`` can be kept: frozen, holding keepable values only."""
    params = getattr(record_type, "__dataclass_params__", None)
    if params is None or not params.frozen:
        return False

    def keepable(value_schema: avro.schema.Schema) -> bool:
        if isinstance(value_schema, avro.schema.UnionSchema):
            return all(keepable(branch) for branch in value_schema.schemas)
        return value_schema.type in _KEEPABLE and value_schema.get_prop("logicalType") is None

    return all(keepable(field.type) for field in schema.fields)


def _kept(record_type: type, encode: Encode, read: Callable[[Any], tuple[Any, ...]]) -> Encode:
    """``encode``, with what it wrote kept by the record's identity and by its values.

    Kept by identity, a record holds its place (so its ``id`` is not reused while it is
    kept). Kept by value, the key holds each field's exact type too: an equal record of other
    types (a plain string for an enum member) must not find bytes the codec may refuse it.
    """
    by_identity: dict[int, tuple[Any, bytes]] = {}
    by_value: dict[tuple[tuple[Any, ...], tuple[type, ...]], bytes] = {}

    def kept(value: Any) -> bytes:
        if type(value) is not record_type:
            raise TypeError("not the record's type")
        entry = by_identity.get(id(value))
        if entry is not None and entry[0] is value:
            written: bytes = entry[1]
            return written
        values = read(value)
        key = (values, tuple(map(type, values)))
        found = by_value.get(key)
        if found is None:
            found = encode(value)
            keep(by_value, key, found)
        if len(by_identity) >= CACHE_LIMIT:
            by_identity.clear()
        by_identity[id(value)] = (value, found)
        return found

    return kept


def _bytes(value: Any) -> bytes:
    if type(value) is not bytes:
        raise TypeError("not bytes")
    return count_bytes(len(value)) + value


def _boolean(value: Any) -> bytes:
    if type(value) is not bool:
        raise TypeError("not a boolean")
    return b"\x01" if value else b"\x00"


def _long(value: Any) -> bytes:
    if type(value) is not int:
        raise TypeError("not an integer")
    return long_bytes(value)


def _int(value: Any) -> bytes:
    if type(value) is not int or value not in _INT_RANGE:
        raise TypeError("not a 32-bit integer")
    return long_bytes(value)


_FLOAT: Final = struct.Struct("<f")
_DOUBLE: Final = struct.Struct("<d")


def _float(value: Any) -> bytes:
    if type(value) is not float:
        raise TypeError("not a float")
    return _FLOAT.pack(value)


def _double(value: Any) -> bytes:
    if type(value) is not float:
        raise TypeError("not a float")
    return _DOUBLE.pack(value)


def _null(value: Any) -> bytes:
    if value is not None:
        raise TypeError("not None")
    return b""


_PRIMITIVES: Final[dict[str, Encode]] = {
    "null": _null,
    "boolean": _boolean,
    "int": _int,
    "long": _long,
    "float": _float,
    "double": _double,
    "bytes": _bytes,
    "string": text,
}


def _array(encode: Encode) -> Encode:
    def array(values: Any) -> bytes:
        # A tuple or a list, as the records hold; fastavro writes them as one block.
        if type(values) is not tuple and type(values) is not list:
            raise TypeError("not a tuple or list")
        if not values:
            return _END_OF_BLOCKS
        return b"".join([count_bytes(len(values)), *map(encode, values), _END_OF_BLOCKS])

    return array


def _timestamp(convert: Callable[[Any, dict[str, Any]], Any]) -> Encode:
    """A timestamp long, converted by fastavro's own function; the times written are kept.

    Aware datetimes only: equal aware times are one instant, so one long, while a naive one
    is read in the local zone and may equal an aware one that hashes alike. The last time
    is also kept by identity: every record of one raw record holds the same ``now``.
    """
    kept: dict[datetime, bytes] = {}
    last: list[Any] = [None, b""]

    def timestamp(moment: Any) -> bytes:
        if moment is last[0]:
            written: bytes = last[1]
            return written
        if type(moment) is not datetime or moment.tzinfo is None:
            raise TypeError("not an aware datetime")
        found = kept.get(moment)
        if found is None:
            count = convert(moment, {})
            if type(count) is not int:
                raise TypeError("fastavro gave no integer")
            found = long_bytes(count)
            keep(kept, moment, found)
        last[0], last[1] = moment, found
        return found

    return timestamp
