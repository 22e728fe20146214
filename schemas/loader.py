"""Load the ``.avsc`` files: every named type, parsed in the order their references need."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import avro.errors
import avro.schema
from avro.name import Names

from schemas.exceptions import SchemaError

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "enum", "fixed"})


@dataclass(frozen=True)
class SchemaSet:
    """Every named type of the contract, parsed, by full name."""

    schemas: Mapping[str, avro.schema.NamedSchema]

    def __getitem__(self, full_name: str) -> avro.schema.NamedSchema:
        try:
            return self.schemas[full_name]
        except KeyError:
            raise SchemaError(f"no schema named {full_name}") from None

    def expanded_json(self, full_name: str) -> dict[str, Any]:
        """The schema with every named type it uses defined inline: readable on its own."""
        expanded = self[full_name].to_json()
        if not isinstance(expanded, dict):
            raise SchemaError(f"{full_name} is not a named type")
        return expanded


def full_name(schema_json: Mapping[str, Any], namespace: str | None = None) -> str:
    """The full name a named type's JSON defines (``namespace.name``)."""
    name = str(schema_json["name"])
    if "." in name:
        return name
    space = schema_json.get("namespace", namespace)
    return f"{space}.{name}" if space else name


def references(schema_json: Any, namespace: str | None = None) -> Iterator[str]:
    """Full names of the named types ``schema_json`` uses without defining them."""
    if isinstance(schema_json, str):
        if schema_json not in PRIMITIVES:
            yield (
                schema_json if "." in schema_json or not namespace else f"{namespace}.{schema_json}"
            )
    elif isinstance(schema_json, list):
        for branch in schema_json:
            yield from references(branch, namespace)
    elif isinstance(schema_json, dict):
        kind = schema_json.get("type")
        if kind in _NAMED:
            namespace = full_name(schema_json, namespace).rpartition(".")[0] or None
        if kind == "record":
            for field in schema_json["fields"]:
                yield from references(field["type"], namespace)
        elif kind == "array":
            yield from references(schema_json["items"], namespace)
        elif kind == "map":
            yield from references(schema_json["values"], namespace)
        elif kind not in _NAMED:
            yield from references(kind, namespace)


def dependency_order(documents: Mapping[str, dict[str, Any]]) -> list[str]:
    """Full names ordered so that each comes after every named type it references."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name not in documents:
            raise SchemaError(f"a schema references {name}, which no .avsc file defines")
        if name in visiting:
            raise SchemaError(f"{name} references itself through other files; define it inline")
        visiting.add(name)
        for reference in references(documents[name]):
            if reference != name:
                visit(reference)
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(documents):
        visit(name)
    return ordered


def read_documents(folder: str = "avro") -> dict[str, dict[str, Any]]:
    """Every ``schemas/<folder>/*.avsc`` as JSON, by the full name it defines: the contract's
    (``avro``), or the worker's internal schemas (``internal``)."""
    documents: dict[str, dict[str, Any]] = {}
    for entry in sorted(resources.files("schemas").joinpath(folder).iterdir(), key=str):
        if not entry.name.endswith(".avsc"):
            continue
        document = json.loads(entry.read_text(encoding="utf-8"))
        name = full_name(document)
        if name in documents:
            raise SchemaError(f"{name} is defined twice (the second in {entry.name})")
        documents[name] = document
    return documents


@cache
def load_schemas() -> SchemaSet:
    """Parse every ``.avsc`` file with the ``avro`` package (which validates it)."""
    return SchemaSet(parse_documents(read_documents()))


def parse_documents(documents: dict[str, dict[str, Any]]) -> dict[str, avro.schema.NamedSchema]:
    """``documents`` (by full name) parsed with the ``avro`` package, which validates them."""
    names = Names()
    parsed: dict[str, avro.schema.NamedSchema] = {}
    for name in dependency_order(documents):
        try:
            schema = avro.schema.make_avsc_object(documents[name], names)
        except avro.errors.SchemaParseException as error:
            raise SchemaError(f"{name} is not a valid Avro schema: {error}") from error
        if not isinstance(schema, avro.schema.NamedSchema):
            raise SchemaError(f"{name}: a .avsc file must define one named type")
        parsed[name] = schema
    return parsed
