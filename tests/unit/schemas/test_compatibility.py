"""Schemas evolve compatibly: each is checked against its latest release, both ways."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import avro.schema
import pytest

from schemas.exceptions import SchemaError
from schemas.history import (
    compatibility_problems,
    history_root,
    pending_releases,
    release,
    released_versions,
)
from schemas.loader import SchemaSet, load_schemas
from schemas.records import MESSAGE_TYPES


@pytest.mark.parametrize("full_name", sorted(MESSAGE_TYPES))
def test_every_message_schema_has_a_release(full_name: str) -> None:
    assert released_versions(full_name), f"run `python -m schemas release` for {full_name}"


@pytest.mark.parametrize("full_name", sorted(MESSAGE_TYPES))
def test_the_current_schema_is_compatible_with_every_release(full_name: str) -> None:
    current = load_schemas()[full_name]

    for released in released_versions(full_name):
        assert compatibility_problems(current, released.schema) == [], (
            f"{full_name} breaks release {released.version}: add fields with defaults, never "
            "remove or retype one; an incompatible change needs a new topic version (.v2)"
        )


def parse(document: dict[str, Any]) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(document))


BASE = {
    "type": "record",
    "name": "Sample",
    "namespace": "test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {
            "name": "kind",
            "type": {
                "type": "enum",
                "name": "Kind",
                "symbols": ["A", "UNRECOGNIZED"],
                "default": "UNRECOGNIZED",
            },
        },
    ],
}


def changed(*, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {**BASE, "fields": fields}


@pytest.mark.parametrize(
    ("change", "compatible"),
    [
        pytest.param(
            lambda fields: [*fields, {"name": "extra", "type": ["null", "long"], "default": None}],
            True,
            id="add-optional-field",
        ),
        pytest.param(
            lambda fields: [
                *fields[:2],
                {**fields[2], "type": {**fields[2]["type"], "symbols": ["A", "B", "UNRECOGNIZED"]}},
            ],
            True,
            id="add-enum-symbol-with-default",
        ),
        pytest.param(
            lambda fields: [*fields, {"name": "extra", "type": "long"}],
            False,
            id="add-required-field",
        ),
        pytest.param(lambda fields: [fields[0], fields[2]], True, id="remove-optional-field"),
        pytest.param(lambda fields: fields[1:], False, id="remove-required-field"),
        pytest.param(
            lambda fields: [{"name": "id", "type": "long"}, *fields[1:]],
            False,
            id="retype-field",
        ),
    ],
)
def test_the_checker_tells_compatible_changes_from_breaking_ones(
    change: Any, compatible: bool
) -> None:
    old = parse(BASE)
    new = parse(changed(fields=change(json.loads(json.dumps(BASE["fields"])))))

    assert (compatibility_problems(new, old) == []) is compatible


def test_an_enum_without_a_default_cannot_grow() -> None:
    no_default = json.loads(json.dumps(BASE))
    del no_default["fields"][2]["type"]["default"]
    grown = json.loads(json.dumps(no_default))
    grown["fields"][2]["type"]["symbols"].insert(0, "B")

    problems = compatibility_problems(parse(grown), parse(no_default))

    assert problems
    assert problems[0].startswith("forward")


@pytest.fixture
def history_copy(tmp_path: Path) -> Path:
    root = tmp_path / "history"
    shutil.copytree(history_root(), root)
    return root


def test_release_writes_nothing_when_nothing_changed(history_copy: Path) -> None:
    assert pending_releases(load_schemas(), history_copy) == {}
    assert release(load_schemas(), history_copy) == {}


def with_field(full_name: str, field: dict[str, Any]) -> SchemaSet:
    """The contract with ``field`` added to ``full_name``."""
    schemas = dict(load_schemas().schemas)
    document = load_schemas().expanded_json(full_name)
    document["fields"].append(field)
    parsed = parse(document)
    assert isinstance(parsed, avro.schema.NamedSchema)
    schemas[full_name] = parsed
    return SchemaSet(schemas)


def test_a_compatible_change_is_released_as_the_next_version(history_copy: Path) -> None:
    name = "dev.cleverstream.ops.DeadLetter"
    schemas = with_field(
        name, {"name": "attempts", "type": ["null", "int"], "default": None, "doc": "d"}
    )

    written = release(schemas, history_copy)

    assert written == {name: 2}
    assert [version.version for version in released_versions(name, history_copy)] == [1, 2]


def test_an_incompatible_change_is_refused_and_nothing_is_written(history_copy: Path) -> None:
    name = "dev.cleverstream.ops.DeadLetter"
    schemas = with_field(name, {"name": "attempts", "type": "int", "doc": "no default"})

    with pytest.raises(SchemaError, match="incompatible with its release 1"):
        release(schemas, history_copy)

    assert [version.version for version in released_versions(name, history_copy)] == [1]
