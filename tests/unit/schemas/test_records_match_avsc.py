"""The .avsc files and the Python records cannot drift: compared field by field."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import StrEnum
from typing import Any

import avro.schema
import pytest

from schemas.loader import load_schemas
from schemas.records import RECORD_TYPES
from schemas.values import ENUM_TYPES

PRIMITIVES = {str: "string", bool: "boolean", bytes: "bytes"}


def test_every_named_type_has_exactly_one_python_type() -> None:
    assert set(load_schemas().schemas) == set(RECORD_TYPES) | set(ENUM_TYPES)


@pytest.mark.parametrize("full_name", sorted(ENUM_TYPES))
def test_enums_have_the_same_symbols_and_fall_back_to_unrecognized(full_name: str) -> None:
    schema = load_schemas()[full_name]
    assert isinstance(schema, avro.schema.EnumSchema)

    assert list(schema.symbols) == [member.value for member in ENUM_TYPES[full_name]]
    assert schema.get_prop("default") == "UNRECOGNIZED"


@pytest.mark.parametrize("full_name", sorted(RECORD_TYPES))
def test_records_have_the_same_fields_types_and_defaults(full_name: str) -> None:
    schema = load_schemas()[full_name]
    assert isinstance(schema, avro.schema.RecordSchema)
    record_type = RECORD_TYPES[full_name]
    hints = typing.get_type_hints(record_type)
    python_fields = dataclasses.fields(record_type)

    assert [field.name for field in schema.fields] == [field.name for field in python_fields]
    for avro_field, python_field in zip(schema.fields, python_fields, strict=True):
        where = f"{full_name}.{avro_field.name}"
        assert matches(avro_field.type, hints[python_field.name]), where
        has_python_default = (
            python_field.default is not dataclasses.MISSING
            or python_field.default_factory is not dataclasses.MISSING
        )
        assert avro_field.has_default == has_python_default, where
        if python_field.default is not dataclasses.MISSING:
            assert avro_field.default == python_field.default, where


def test_every_field_and_type_is_documented() -> None:
    for full_name, schema in load_schemas().schemas.items():
        assert schema.get_prop("doc"), full_name
        for field in getattr(schema, "fields", []):
            assert field.doc, f"{full_name}.{field.name}"


def matches(schema: avro.schema.Schema, hint: Any) -> bool:
    """Whether an Avro type and a Python type hint describe the same values."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return (
            isinstance(schema, avro.schema.UnionSchema)
            and len(schema.schemas) == 2
            and schema.schemas[0].type == "null"
            and matches(schema.schemas[1], inner)
        )
    if origin is tuple:
        return isinstance(schema, avro.schema.ArraySchema) and matches(schema.items, arguments[0])
    if hint is datetime:
        return schema.type == "long" and schema.get_prop("logicalType") == "timestamp-millis"
    if hint is int:
        return schema.type in ("int", "long") and schema.get_prop("logicalType") is None
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return isinstance(schema, avro.schema.EnumSchema) and ENUM_TYPES[schema.fullname] is hint
    if dataclasses.is_dataclass(hint):
        return (
            isinstance(schema, avro.schema.RecordSchema) and RECORD_TYPES[schema.fullname] is hint
        )
    return schema.type == PRIMITIVES.get(hint)
