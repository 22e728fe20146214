"""Loading the .avsc files: references resolved in order, mistakes reported by name."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.exceptions import SchemaError
from schemas.loader import dependency_order, load_schemas, references


def test_the_contract_loads_and_every_type_has_a_namespace() -> None:
    schemas = load_schemas().schemas

    assert schemas
    assert all(name.startswith("dev.cleverstream.") for name in schemas)


def test_references_are_resolved_against_the_enclosing_namespace() -> None:
    document = {
        "type": "record",
        "name": "R",
        "namespace": "a.b",
        "fields": [
            {"name": "x", "type": "E"},
            {"name": "y", "type": ["null", "c.D"]},
            {"name": "z", "type": {"type": "array", "items": "string"}},
        ],
    }

    assert list(references(document)) == ["a.b.E", "c.D"]


def test_types_come_after_what_they_reference() -> None:
    documents: dict[str, dict[str, Any]] = {
        "n.R": {
            "type": "record",
            "name": "R",
            "namespace": "n",
            "fields": [{"name": "e", "type": "E"}],
        },
        "n.E": {"type": "enum", "name": "E", "namespace": "n", "symbols": ["A"]},
    }

    assert dependency_order(documents) == ["n.E", "n.R"]


def test_a_missing_reference_names_the_missing_type() -> None:
    documents: dict[str, dict[str, Any]] = {
        "n.R": {
            "type": "record",
            "name": "R",
            "namespace": "n",
            "fields": [{"name": "e", "type": "Gone"}],
        },
    }

    with pytest.raises(SchemaError, match=r"n\.Gone, which no .avsc file defines"):
        dependency_order(documents)


def test_an_unknown_name_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="no schema named"):
        load_schemas()["dev.cleverstream.Nothing"]
